import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaults, stopSchedule, type SettingRecord } from '@task-helper/core/host';
import { beforeAll, describe, expect, it } from 'vitest';
import { startMetadataServer } from '../../test/support/ecs-metadata.ts';
import { runHelper } from '../../test/support/helper-process.ts';
import { tempDir } from '../../test/support/temp-config.ts';
import { commandFlag, dockerfile, sidecar } from '../envoy/envoy-example.ts';
import { container, environmentOf, loadTaskDefinition } from './task-definition.ts';

const task = loadTaskDefinition();
const helper = container(task, 'task-helper');
const helperEnv = environmentOf(helper);
const FARGATE_MAX_STOP_TIMEOUT = 120;
const CONDITIONS = ['START', 'COMPLETE', 'SUCCESS', 'HEALTHY'];

interface PlanJson {
  settings: SettingRecord[];
  timeline: { stopTimeoutMs: number; fits: boolean };
}

/** `task-helper plan --json` with exactly the helper container's environment, from a folder with no config file. */
async function planWith(env: Record<string, string>): Promise<PlanJson> {
  const { code, stdout, stderr } = await runHelper(['plan', '--json'], { env, cwd: tempDir({}) });
  // stderr holds warnings, such as waits that do not fit the budget; the tests below judge those.
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as PlanJson;
}

/** A setting's resolved value (env, else default) as the helper itself reads it. */
const settingValue = (plan: PlanJson, env: string): unknown => plan.settings.find((s) => s.env === env)?.value;

let plan: PlanJson;
beforeAll(async () => {
  plan = await planWith(helperEnv);
});

describe('the ECS task definition example', () => {
  it('is a Fargate task in awsvpc mode, every container logging to CloudWatch', () => {
    expect(task.networkMode).toBe('awsvpc');
    expect(task.requiresCompatibilities).toContain('FARGATE');
    for (const c of task.containerDefinitions) {
      expect(c.logConfiguration?.logDriver, c.name).toBe('awslogs');
      expect(Object.keys(c.logConfiguration?.options ?? {}).sort(), c.name).toEqual([
        'awslogs-group',
        'awslogs-region',
        'awslogs-stream-prefix',
      ]);
    }
  });

  it('starts the helper after both the app and Envoy: ECS dependsOn is not transitive', () => {
    expect(helper.dependsOn?.map((d) => d.containerName).sort()).toEqual(['app', 'envoy']);
  });

  it('uses only valid dependsOn conditions, HEALTHY only on a container with a healthCheck', () => {
    const names = task.containerDefinitions.map((c) => c.name);
    for (const c of task.containerDefinitions) {
      for (const { containerName, condition } of c.dependsOn ?? []) {
        expect(names, `${c.name} dependsOn ${containerName}`).toContain(containerName);
        expect(CONDITIONS, `${c.name} dependsOn ${containerName}`).toContain(condition);
      }
    }
    const awaitedHealthy = task.containerDefinitions
      .flatMap((c) => c.dependsOn ?? [])
      .filter((d) => d.condition === 'HEALTHY');
    for (const { containerName } of awaitedHealthy) {
      expect(container(task, containerName).healthCheck, `${containerName} needs a healthCheck`).toBeDefined();
    }
  });

  it('makes the helper essential, so a helper that cannot start stops the task instead of leaving it undrainable', () => {
    expect(helper.essential).toBe(true);
  });

  it("gives the helper a stopTimeout that covers DRAIN_DELAY + DRAIN_TIMEOUT + the afterDrain margin, within Fargate's 120 s", () => {
    const stopTimeout = helper.stopTimeout ?? 30;
    const waits = Number(settingValue(plan, 'DRAIN_DELAY')) + Number(settingValue(plan, 'DRAIN_TIMEOUT'));
    expect(stopTimeout).toBeLessThanOrEqual(FARGATE_MAX_STOP_TIMEOUT);
    const delays = {
      delayMs: Number(settingValue(plan, 'DRAIN_DELAY')) * 1000,
      drainWaitMs: Number(settingValue(plan, 'DRAIN_TIMEOUT')) * 1000,
    };
    expect(
      stopSchedule({ stopTimeoutMs: stopTimeout * 1000, ...delays }).cut,
      `${waits} s of waits in ${stopTimeout} s`,
    ).toBe(false);
  });

  it('tells the helper its own stopTimeout (STOP_TIMEOUT), so it plans with the budget ECS really gives', () => {
    expect(Number(helperEnv.STOP_TIMEOUT)).toBe(helper.stopTimeout);
    expect(plan.timeline.stopTimeoutMs).toBe((helper.stopTimeout ?? 30) * 1000);
  });

  it('keeps Envoy and the app alive at least as long as the helper', () => {
    for (const name of ['app', 'envoy']) {
      expect(container(task, name).stopTimeout ?? 30, name).toBeGreaterThanOrEqual(helper.stopTimeout ?? 30);
    }
  });

  it('sets only environment variables the helper reads', () => {
    const read = new Set(plan.settings.map((s) => s.env).filter((env) => env !== undefined));
    expect(Object.keys(helperEnv).filter((name) => !read.has(name))).toEqual([]);
    // Each one took effect (a value equal to the default would still say "env").
    for (const name of Object.keys(helperEnv))
      expect(plan.settings.find((s) => s.env === name)?.source, name).toBe('env');
  });

  it('plans a stop sequence that fits the budget', () => {
    expect(plan.timeline.fits).toBe(true);
  });

  it('checks the helper with `task-helper health`, given more time than the command allows itself', () => {
    expect(helper.healthCheck?.command).toEqual(['CMD', 'task-helper', 'health']);
    expect((helper.healthCheck?.timeout ?? 5) * 1000).toBeGreaterThan(defaults.healthTimeoutMs);
  });

  it('gives every container a healthCheck that stays healthy through a drain: Envoy LIVE or DRAINING is alive', () => {
    for (const c of task.containerDefinitions) expect(c.healthCheck, c.name).toBeDefined();
    expect(container(task, 'envoy').healthCheck?.command.join(' ')).toContain("grep -qE '^(LIVE|DRAINING)$'");
  });

  it("runs an init as PID 1 in every container: the app's and Envoy's by initProcessEnabled, the helper's image has tini", () => {
    for (const name of ['app', 'envoy'])
      expect(container(task, name).linuxParameters?.initProcessEnabled, name).toBe(true);
    expect(helper.linuxParameters?.initProcessEnabled).toBeUndefined();
    expect(readFileSync(path.join(import.meta.dirname, '../../Dockerfile'), 'utf8')).toMatch(
      /^ENTRYPOINT \["\/sbin\/tini", /m,
    );
  });

  it("points the helper at the port and path the app's own healthCheck uses, and at Envoy's admin port", () => {
    const app = container(task, 'app');
    const port = settingValue(plan, 'PORT');
    expect(app.portMappings?.map((p) => p.containerPort)).toContain(port);
    expect(app.healthCheck?.command.join(' ')).toContain(
      `:${String(port)}${String(settingValue(plan, 'HEALTHCHECK_PATH'))}`,
    );
    const adminPort = new URL(String(settingValue(plan, 'ENVOY_ADMIN_URL'))).port;
    expect(container(task, 'envoy').healthCheck?.command.join(' ')).toContain(`/${adminPort} `);
  });
});

describe('the ECS task definition and the Envoy sidecar example (examples/envoy) agree', () => {
  const envoy = container(task, 'envoy');
  const facts = sidecar();
  const image = dockerfile();

  it('runs the image built from examples/envoy, tagged with the Envoy version it is built FROM', () => {
    const version = /^envoyproxy\/envoy:v(.+)$/.exec(image.from)?.[1];
    expect(envoy.image).toMatch(new RegExp(`/orders-envoy:${version!.replaceAll('.', '\\.')}$`));
  });

  it("exposes Envoy's ingress listener, and nothing else of Envoy's", () => {
    expect(envoy.portMappings?.map((p) => p.containerPort)).toEqual([facts.ingress.port]);
  });

  it("points the helper at envoy.yaml's admin address, the app port Envoy routes to and the path its health check filter answers", () => {
    expect(settingValue(plan, 'ENVOY_ADMIN_URL')).toBe(`http://${facts.admin.address}:${facts.admin.port_value}`);
    expect(settingValue(plan, 'PORT')).toBe(facts.app.port_value);
    expect(settingValue(plan, 'HEALTHCHECK_PATH')).toBe(facts.ingress.healthPath);
    expect(envoy.healthCheck?.command.join(' ')).toContain(
      `/dev/tcp/${facts.admin.address}/${facts.admin.port_value} `,
    );
  });

  it("sends the app's outbound HTTP calls through Envoy's egress listener", () => {
    expect(environmentOf(container(task, 'app')).HTTP_PROXY).toBe(
      `http://${facts.egress.address}:${facts.egress.port}`,
    );
  });

  it("gives Envoy a --drain-time-s no shorter than the helper's stopTimeout, so Envoy never closes a listener on its own mid-drain", () => {
    expect(Number(commandFlag('--drain-time-s', image.cmd))).toBeGreaterThanOrEqual(helper.stopTimeout ?? 30);
  });
});

describe('the optional AWS files', () => {
  const json = (file: string): unknown => JSON.parse(readFileSync(path.join(import.meta.dirname, file), 'utf8'));
  const entries = (file: string) =>
    Object.fromEntries((json(file) as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
  const policy = json('iam-drain-policy.json') as { Statement: Array<{ Action: string | string[] }> };
  const allowed = new Set(policy.Statement.flatMap((s) => s.Action));

  it('added to the helper in ECS, are read as they are; iam-drain-policy.json allows every action plan lists for them', async () => {
    // The helper reads its task from the metadata endpoint (AWS's documented example): not an AWS call.
    const metadata = await startMetadataServer();
    try {
      const env = {
        ...helperEnv,
        ...entries('task-helper-aws-environment.json'),
        ...entries('task-helper-replacements-environment.json'),
        ECS_CONTAINER_METADATA_URI_V4: metadata.uri,
      };
      const { code, stdout, stderr } = await runHelper(['plan'], { env, cwd: tempDir({}) });
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/DRAIN_DELAY_UNTIL +"replacements" +env +cloud-map/);
      expect(stdout).toContain('cloud-map (beforeDrain): DRAIN_DELAY_UNTIL=replacements');
      const iam = /IAM \(task role\): (.+)$/m.exec(stdout)?.[1]?.split(', ') ?? [];
      expect(iam.length).toBeGreaterThan(0);
      for (const action of iam) expect(allowed, action).toContain(action);
    } finally {
      await metadata.close();
    }
  });
});
