import { describe, expect, it } from 'vitest';
import { closeInboundDefaults } from '../../packages/plugin-envoy/src/close-inbound.ts';
import { drainListenersCall, parseEnvoyVersion } from '../../packages/plugin-envoy/src/envoy-version.ts';
import { envoyRelease } from '../support/envoy-binary.ts';
import { PROBED_CALLS, probeCall, summary } from '../support/drain-listeners-probe.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';

// What each /drain_listeners call does to the example sidecar's inbound and outbound listeners on
// the Envoy under test (ENVOY_BIN: `make test-envoy-versions` runs this on every pinned release),
// against the table packages/plugin-envoy/README.md publishes (`make drain-listeners-table`), and
// that the call plugin-envoy picks for the release does what ENVOY_DRAIN_LISTENERS asks.
const missing = realEnvoyMissing();
if (missing) console.warn(`skipping the real-Envoy /drain_listeners tests: ${missing}`);

// Each listener: a keep-alive connection opened before the call / a new one during --drain-time-s /
// a new one after it; close = answered with Connection: close, refused = not accepting.
const BEFORE_47042: Record<(typeof PROBED_CALLS)[number], string> = {
  '/drain_listeners': '200 OK; inbound open/refused/refused; outbound open/refused/refused; LIVE',
  '/drain_listeners?inboundonly': '200 OK; inbound open/refused/refused; outbound open/open/open; LIVE',
  '/drain_listeners?graceful': '200 OK; inbound close/close/refused; outbound close/close/refused; LIVE',
  '/drain_listeners?graceful&inboundonly': '200 OK; inbound close/close/refused; outbound open/open/open; LIVE',
  '/drain_listeners?skip_exit':
    '400 skip_exit requires graceful; inbound open/open/open; outbound open/open/open; LIVE',
  '/drain_listeners?skip_exit&inboundonly':
    '400 skip_exit requires graceful; inbound open/open/open; outbound open/open/open; LIVE',
  '/drain_listeners?graceful&skip_exit': '200 OK; inbound close/close/close; outbound close/close/close; LIVE',
  '/drain_listeners?inboundonly&graceful&skip_exit': '200 OK; inbound close/close/close; outbound open/open/open; LIVE',
  '/healthcheck/fail': '200 OK; inbound close/close/close; outbound close/close/close; DRAINING',
};
// envoy#47042: a call without graceful drains the connections too, and skip_exit alone is accepted.
const FROM_1_40: typeof BEFORE_47042 = {
  ...BEFORE_47042,
  '/drain_listeners': '200 OK; inbound close/refused/refused; outbound close/refused/refused; LIVE',
  '/drain_listeners?inboundonly': '200 OK; inbound close/refused/refused; outbound open/open/open; LIVE',
  '/drain_listeners?skip_exit': '200 OK; inbound close/close/close; outbound close/close/close; LIVE',
  '/drain_listeners?skip_exit&inboundonly': '200 OK; inbound close/close/close; outbound open/open/open; LIVE',
};

const release = parseEnvoyVersion(`0/${envoyRelease()}/`);
const measured =
  release && release.major === 1 && release.minor >= 36 ? (release.minor >= 40 ? FROM_1_40 : BEFORE_47042) : undefined;

describe.skipIf(missing)(`real Envoy ${envoyRelease()}: /drain_listeners on the example's two listeners`, () => {
  it.concurrent.each(PROBED_CALLS)('POST %s does what packages/plugin-envoy/README.md says', async (call) => {
    expect(
      measured,
      `Envoy ${envoyRelease()} has not been measured: run make drain-listeners-table and add it`,
    ).toBeDefined();
    expect(summary(await probeCall(call))).toBe(measured![call]);
  });

  it.concurrent.each(['inbound', 'all'] as const)(
    "ENVOY_DRAIN_LISTENERS=%s: the plugin's call for this release drains those listeners, leaves the others alone and never closes one",
    async (mode) => {
      const { path } = drainListenersCall(mode, release);
      const outcome = await probeCall(path);
      expect(outcome).toMatchObject({
        answer: '200 OK',
        ingress: { existing: 'close', during: 'close', after: 'close' },
        egress:
          mode === 'all'
            ? { existing: 'close', during: 'close', after: 'close' }
            : { existing: 'open', during: 'open', after: 'open' },
        ready: 'LIVE',
      });
    },
  );
});

describe.skipIf(missing)(
  `real Envoy ${envoyRelease()}: the whole drain action on an egress listener marked MODIFY_ONLY`,
  () => {
    // /healthcheck/fail drain-closes every DEFAULT listener, outbound ones too; MODIFY_ONLY is how a
    // sidecar keeps the app's outbound connections out of that, and only `inbound` then spares them.
    it.concurrent.each(['inbound', 'all'] as const)(
      '/healthcheck/fail, then the call for ENVOY_DRAIN_LISTENERS=%s: the egress listener is drained only with all',
      async (mode) => {
        const { path } = drainListenersCall(mode, release);
        const outcome = await probeCall(path, { before: '/healthcheck/fail', egressDrainType: 'MODIFY_ONLY' });
        expect(outcome).toMatchObject({
          answer: '200 OK',
          ingress: { existing: 'close', during: 'close', after: 'close' },
          egress:
            mode === 'all'
              ? { existing: 'close', during: 'close', after: 'close' }
              : { existing: 'open', during: 'open', after: 'open' },
          ready: 'DRAINING',
        });
      },
    );
  },
);

describe.skipIf(missing)(`real Envoy ${envoyRelease()}: a second graceful call while draining`, () => {
  it.concurrent('is ignored when it covers no new direction: skip_exit then comes too late to keep the listeners', async () => {
    expect(
      summary(await probeCall('/drain_listeners?graceful&skip_exit', { before: '/drain_listeners?graceful' })),
    ).toBe('200 OK; inbound close/close/refused; outbound close/close/refused; LIVE');
  });

  it.concurrent('takes effect when it widens the drain from inbound to all', async () => {
    expect(
      summary(
        await probeCall('/drain_listeners?graceful&skip_exit', {
          before: '/drain_listeners?inboundonly&graceful&skip_exit',
        }),
      ),
    ).toBe('200 OK; inbound close/close/close; outbound close/close/close; LIVE');
  });
});

describe.skipIf(missing)(`real Envoy ${envoyRelease()}: ENVOY_CLOSE_INBOUND's call at the end of the drain`, () => {
  // What the drain has sent before it: the fail alone, or the fail and either ENVOY_DRAIN_LISTENERS call.
  const befores = [
    { name: '/healthcheck/fail', before: '/healthcheck/fail' },
    {
      name: '/healthcheck/fail, egress MODIFY_ONLY',
      before: '/healthcheck/fail',
      egressDrainType: 'MODIFY_ONLY' as const,
    },
    ...(['inbound', 'all'] as const).map((mode) => ({
      name: `ENVOY_DRAIN_LISTENERS=${mode}'s call`,
      before: drainListenersCall(mode, release).path,
    })),
  ];
  it.concurrent.each(befores)(
    'after $name: the inbound listener refuses new connections at once and still serves open ones; the outbound one keeps accepting',
    async ({ name: _, ...options }) => {
      const outcome = await probeCall(closeInboundDefaults.path, options);
      expect(outcome).toMatchObject({
        answer: '200 OK',
        ingress: { existing: 'close', during: 'refused', after: 'refused' },
      });
      const { existing, during, after } = outcome.egress;
      const untouched = options.egressDrainType === 'MODIFY_ONLY' || options.before.includes('inboundonly');
      expect([existing, during, after]).toEqual(untouched ? ['open', 'open', 'open'] : ['close', 'close', 'close']);
    },
  );
});
