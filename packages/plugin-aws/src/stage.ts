/**
 * After plugin-envoy's `/healthcheck/fail` (stage 0), before plugin-delay's DRAIN_TIMEOUT wait
 * (stage 100), and `beside` it: the AWS calls start once the POST is out and never hold up the wait.
 */
export const DEREGISTER_STAGE = 50;
