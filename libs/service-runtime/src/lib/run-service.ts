import { INestApplication } from '@nestjs/common';
import { startService } from './bootstrap';
import { CommonConfig, ConfigError, loadConfig, serviceConfigSchema } from './config';
import { ServiceDefinition, ServiceModule } from './service.module';

/** Boots a service from its definition and the process environment; bad configuration exits 1. */
export async function runService(
  definition: ServiceDefinition,
  env: Record<string, string | undefined>,
  configOverrides: Partial<CommonConfig> = {},
): Promise<INestApplication> {
  let config: CommonConfig & Record<string, unknown>;
  try {
    const schema = serviceConfigSchema(definition.configShape);
    config = { ...loadConfig(schema, env), ...configOverrides };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${definition.identity.name}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  return startService(ServiceModule.forRoot(definition, config), definition.identity, {
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    ...(config.ADMIN_PORT !== undefined ? { admin: { host: config.ADMIN_HOST ?? config.HTTP_HOST, port: config.ADMIN_PORT } } : {}),
  }, config.LOG_LEVEL);
}
