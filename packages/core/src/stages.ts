/**
 * Named stages (tapable's `stage`: lower runs earlier, default 0), so plugins in different
 * packages agree on an order without comments, as webpack names its PROCESS_ASSETS_STAGE_*.
 */
export const Stage = Object.freeze({
  /** beforeDrain: decide whether to drain at all (the app check skips a task that never came up). */
  BEFORE_DRAIN_DECIDE: -100,
  /** beforeDrain: get ready for the drain without delaying it (plugin-envoy loads its admin client). */
  BEFORE_DRAIN_PREPARE: -50,
  /** beforeDrain: the DRAIN_DELAY wait. */
  BEFORE_DRAIN_DELAY: 0,
  /** drain: the drain's action, Envoy's `/healthcheck/fail`. */
  DRAIN_ACTION: 0,
  /**
   * drain: leaving service discovery and load balancers (plugin-aws), as `beside` taps: after the
   * action, so `/healthcheck/fail` never waits for AWS, and without holding up DRAIN_WAIT.
   */
  DRAIN_DEREGISTER: 50,
  /** drain: the DRAIN_TIMEOUT wait for callers to notice the action; steps between DRAIN_ACTION and this run inside it. */
  DRAIN_WAIT: 100,
} as const);
