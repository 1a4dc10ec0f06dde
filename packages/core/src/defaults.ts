/** Core defaults, exported so the docs and `plan` read the same numbers the code uses. */
export const defaults = Object.freeze({
  /** Seconds ECS allows the helper after SIGTERM before SIGKILL (set it to the task's stopTimeout). */
  stopTimeout: 120,
  /** Seconds onStart may take (waiting for Envoy to be live, say) before the helper gives up waiting and carries on. */
  startTimeout: 60,
  /** The most STOP_TIMEOUT and START_TIMEOUT accept, in seconds. */
  maxTimeout: 3_600,
  logLevel: 'info',
  /** `task-helper health` answers within this, well inside ECS's 5 s healthCheck timeout. */
  healthTimeoutMs: 3_000,
  /** A tap that declares no `timeout` of its own must finish within this. */
  tapTimeoutMs: 10_000,
  /** How long a tap may take to return once its abortSignal has fired before it is abandoned. */
  abandonGraceMs: 100,
  /** Long waits log their progress this often. */
  progressIntervalMs: 5_000,
  /** The stop budget's abortSignal fires this long before SIGKILL (or a fifth of the budget if less), leaving afterDrain its time. */
  afterDrainMarginMs: 5_000,
  /** The drain (its action and DRAIN_TIMEOUT) keeps at most this share of the time before the waits end; DRAIN_DELAY is cut first. */
  drainShare: 0.5,
  /** Even with DRAIN_TIMEOUT 0, the drain's action keeps this long (or the drain's share, if less), so a slow Envoy still takes the POST. */
  drainActionMs: 2_000,
  /**
   * Kubernetes: the least the kubelet gives a container's SIGTERM, however much of the grace period
   * its preStop hook spent (`minimumGracePeriodInSeconds`), and what a native sidecar can count on
   * after the app has exited.
   */
  kubeletMinGraceMs: 2_000,
  /** The helper itself exits this long before SIGKILL, whatever afterDrain is still doing. */
  exitReserveMs: 250,
  /** Outside a stop (a refusal at start), the exit waits this long at most for a log consumer that is not reading. */
  logFlushMs: 1_000,
} as const);
