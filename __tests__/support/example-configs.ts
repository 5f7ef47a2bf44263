import { ConfigInput } from "../../config/schema";

/** The longest cluster name the config accepts, with every option that adds resources or names switched on. */
export const EVERY_OPTION: ConfigInput = {
  clusterName: "abcdefghij-klmnopqrs",
  region: "ap-southeast-2",
  api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"], domain: "example.com" },
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx admin@example",
  automation: { notificationEmail: "ops@example.com", slackWebhookSecretArn: "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:abcdefghij-klmnopqrs/slack-webhook-AbCdEf" },
  database: { performanceInsights: true },
  storage: { blockStorage: { enabled: true } },
  backups: { copyRegion: "ap-southeast-4" },
  addons: { monitoring: { enabled: true }, argoCd: { enabled: true }, jenkins: { enabled: true } },
};

/**
 * DNS, TLS at the load balancer and a CloudFront distribution with a web ACL, at the longest cluster name; the zone is
 * given by ID, so planning it needs no Route 53 look-up.
 */
export const EDGE_EVERYTHING: ConfigInput = {
  clusterName: "abcdefghij-klmnopqrs",
  api: { publicAccess: true, adminCidrs: ["203.0.113.0/24", "198.51.100.0/24"] },
  edge: {
    hostedZone: "Z0123456789ABCDEFGHIJ",
    fqdn: "apps.example.com",
    applicationTls: "load-balancer",
    cloudFront: { enabled: true, webAclArn: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-000000000000" },
  },
};

/** The example configurations every stack-wide check (terraform validate, the synth policy) runs on. */
export const EXAMPLE_CONFIGS: [string, ConfigInput][] = [
  ["default", {}],
  ["dev", { environment: "dev" }],
  ["prod with a public API", { environment: "prod", api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] } }],
  ["longest name, every option", EVERY_OPTION],
  ["cluster-autoscaler scaling mode", { agents: { scalingMode: "cluster-autoscaler" } }],
  ["edge: DNS, TLS at the load balancer, CloudFront with a web ACL", EDGE_EVERYTHING],
  ["backups copied to a second region, alarms and dashboard", { backups: { copyRegion: "eu-central-1", retentionDays: 90 }, monitoring: { databaseMaxConnections: 300 } }],
];
