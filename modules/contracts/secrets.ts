/**
 * Keys of the JSON documents the cluster passes through Secrets Manager, where Terraform, shell, Python and the Lambdas
 * meet. Dependency-free: the constructs, the user-data renderer and the Lambda bundles all import it.
 */

/** The datastore secret: modules/database writes it with jsonencode, templates/server.sh reads it. */
export const DATASTORE_DOCUMENT_KEYS = ["host", "port", "dbname", "username", "password"] as const;
export type DatastoreDocumentKey = (typeof DATASTORE_DOCUMENT_KEYS)[number];

/** The automation-access secret: templates/server.sh writes it once the API answers, lambdas/shared/access.ts reads it. */
export const AUTOMATION_ACCESS_KEYS = ["server", "caData", "token"] as const;
export type AutomationAccessKey = (typeof AUTOMATION_ACCESS_KEYS)[number];
