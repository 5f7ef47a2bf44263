import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";

/** Publishes one notification (subject and a JSON body) to the cluster's SNS topic. */
export function snsNotifier(client: SNSClient, topicArn: string) {
  return async (subject: string, message: Record<string, unknown>) => {
    await client.send(new PublishCommand({ TopicArn: topicArn, Subject: subject.slice(0, 100), Message: JSON.stringify(message, null, 2) }));
  };
}
