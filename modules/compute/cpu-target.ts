/**
 * Average CPU, in percent, the agents' target-tracking policy holds them at in scaling mode "cpu"; its name says it
 * too. Its own module so the simulator (simulator/engine.ts) models the same policy without loading the constructs.
 */
export const AGENT_CPU_TARGET_PERCENT = 80;
