import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTaskMetadata } from '../../packages/core/src/task-metadata.ts';
import { startMetadataServer, type MetadataServer } from '../support/ecs-metadata.ts';
import { runHelper, startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';
import { tempDir } from '../support/temp-config.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/ecs-metadata', name), 'utf8')) as unknown;

let task: SimTask | undefined;
let metadata: MetadataServer | undefined;
afterEach(async () => {
  await task?.close();
  await metadata?.close();
  task = metadata = undefined;
});

describe('ECS task metadata', () => {
  it("reads AWS's documented Fargate example", () => {
    expect(parseTaskMetadata(fixture('container.json'), fixture('task.json'))).toEqual({
      taskArn: 'arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3',
      taskId: 'e9028f8d5d8e4f258373e7b93ce9a3c3',
      cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/default',
      taskDefinition: 'orders:7',
      containerName: 'task-helper',
      privateIpv4: '10.0.2.106',
      region: 'us-west-2',
      accountId: '111122223333',
      launchType: 'FARGATE',
    });
  });

  it("plan shows the task it found, and the AWS plugins' taps beside the drain", async () => {
    metadata = await startMetadataServer();
    const { code, stdout } = await runHelper(['plan'], {
      env: {
        ECS_CONTAINER_METADATA_URI_V4: metadata.uri,
        CLOUD_MAP_SERVICE_ID: 'srv-abcdef0123456789',
        TARGET_GROUP_ARNS: 'arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/orders/0123456789abcdef',
        TARGET_PORT: '8080',
      },
      cwd: tempDir({}),
    });
    expect(code).toBe(0);
    expect(stdout).toContain(
      'ECS task: arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3 in arn:aws:ecs:us-west-2:111122223333:cluster/default, orders:7, container task-helper, 10.0.2.106, FARGATE',
    );
    expect(stdout).toMatch(
      /drain +envoy \(stage -1\), cloud-map \(stage 50\), target-groups \(stage 50\), delay \(stage 100\)/,
    );
    expect(stdout).toContain(
      'deregister (or mark unhealthy) instance e9028f8d5d8e4f258373e7b93ce9a3c3 in Cloud Map service srv-abcdef0123456789, beside the drain',
    );
    expect(stdout).toContain('deregister 10.0.2.106:8080 from 1 target group, beside the drain');
  });

  it('outside ECS: no metadata request, nothing logged about it, no task fields', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(helper.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(helper.lines.some((l) => 'taskArn' in l || 'cluster' in l)).toBe(false);
    const { stdout } = await runHelper(['plan'], { cwd: tempDir({}) });
    expect(stdout).toContain('ECS task: none (ECS_CONTAINER_METADATA_URI_V4 unset or unreadable)');
  });

  it('an endpoint that never answers: one warning after three 1 s tries, then ready and a normal drain', async () => {
    task = await startTask();
    const silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    try {
      const uri = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v4/x`;
      const helper = startHelper(['run'], {
        env: { ...task.env, ECS_CONTAINER_METADATA_URI_V4: uri, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
      });
      const warning = await helper.waitForLog(
        'task metadata could not be read: carrying on without the task identity (plugins that need it will say so)',
      );
      expect(warning).toMatchObject({
        level: 'warn',
        problem: `ECS_CONTAINER_METADATA_URI_V4=${uri}: no answer within 1000 ms (3 tries)`,
      });
      await helper.waitForLog('ready');
      helper.kill('SIGTERM');
      expect((await helper.exited).code).toBe(0);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
