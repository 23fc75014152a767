import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Admin, ResourcePatternTypes } from 'kafkajs';
import { KafkaGrant, kafkaGrants } from '@pos/contracts';

const operations: Record<KafkaGrant['operation'], AclOperationTypes> = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  describe: AclOperationTypes.DESCRIBE,
};

/**
 * Creates the ACLs of libs/contracts' kafkaGrants on the broker, as its admin (a broker keeps an
 * ACL created twice once, so this may run on every start).
 */
export async function grantAcls(admin: Admin): Promise<void> {
  await admin.createAcls({
    acl: kafkaGrants().map((grant) => ({
      resourceType: grant.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
      resourceName: grant.name,
      resourcePatternType: grant.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
      principal: `User:${grant.principal}`,
      host: '*',
      operation: operations[grant.operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  });
}
