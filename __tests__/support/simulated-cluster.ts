// The simulator's cluster is the scenario tests' cluster: one copy (simulator/cluster.ts).
export { simPod, SimulatedCluster } from "../../simulator/cluster";
