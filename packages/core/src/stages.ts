/**
 * Named stages (tapable's `stage`: lower runs earlier, default 0), so plugins in different
 * packages agree on an order without comments, as webpack names its PROCESS_ASSETS_STAGE_*. Each
 * has its own value, none of them 0, so no order between a named tap and one that names no stage
 * depends on where the plugins stand in the `plugins` list.
 */
export const Stage = Object.freeze({
  /**
   * beforeDrain: publish, without waiting for anything, what the decision may ask (plugin-envoy:
   * `ENVOY_UPSTREAM_SERVED`, which the app check asks when nothing listens on the app's port).
   */
  BEFORE_DRAIN_FACTS: -200,
  /** beforeDrain: decide whether to drain at all (the app check skips a task that never came up). */
  BEFORE_DRAIN_DECIDE: -100,
  /** beforeDrain: get ready for the drain without delaying it (plugin-envoy loads its admin client). */
  BEFORE_DRAIN_PREPARE: -50,
  /**
   * beforeDrain: the DRAIN_DELAY wait. After the taps that name no stage: the wait counts from the
   * stop signal, so what runs before it does not lengthen the stop.
   */
  BEFORE_DRAIN_DELAY: 10,
  /**
   * drain: the drain's action, Envoy's `/healthcheck/fail`. Before the taps that name no stage, so
   * the fail never waits for them; a tap that must run before it says so with a lower stage.
   */
  DRAIN_ACTION: -1,
  /**
   * drain: leaving service discovery and load balancers (plugin-aws), as `beside` taps: after the
   * action, so `/healthcheck/fail` never waits for AWS, and without holding up DRAIN_WAIT.
   */
  DRAIN_DEREGISTER: 50,
  /** drain: the DRAIN_TIMEOUT wait for callers to notice the action; steps between DRAIN_ACTION and this run inside it. */
  DRAIN_WAIT: 100,
  /**
   * afterDrain: Envoy's inbound listeners stop accepting (ENVOY_CLOSE_INBOUND), after the taps that
   * name no stage, so callers still sending are served until the helper is about to exit.
   */
  AFTER_DRAIN_CLOSE_INBOUND: 900,
  /** afterDrain: Envoy's `/quitquitquit` (ENVOY_QUIT=true), last: after it the proxy is gone. */
  AFTER_DRAIN_QUIT: 1_000,
} as const);
