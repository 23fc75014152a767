import { DynamicModule, Inject, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { createDataSource, DatabaseConnection, DataSourceParts, dataSourceOptions } from './data-source';
import { runMigrations } from './migrations';

export interface DatabaseModuleOptions {
  readonly connection: DatabaseConnection;
  readonly parts: DataSourceParts;
}

export interface DatabaseModuleAsyncOptions {
  // Nest's own injection tokens are untyped.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inject?: any[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly useFactory: (...args: any[]) => DatabaseModuleOptions;
}

const DATABASE_MODULE_OPTIONS = Symbol('DATABASE_MODULE_OPTIONS');

@Injectable()
class MigrateOnBoot implements OnModuleInit {
  private readonly logger = new Logger('Migrations');

  constructor(
    private readonly dataSource: DataSource,
    @Inject(DATABASE_MODULE_OPTIONS) private readonly options: DatabaseModuleOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    const { connection, parts } = this.options;
    const applied = connection.migrationUrl === undefined ? await runMigrations(this.dataSource) : await this.migrateAsOwner(connection.migrationUrl);
    this.logger.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
    const [{ role, superuser }] = await this.dataSource.query(`SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`);
    if (superuser) {
      this.logger.warn(`${parts.applicationName} runs as the PostgreSQL superuser "${role}": give it a role of its own (docs/security.md, npm run ops -- db provision)`);
    }
  }

  /** The migrations on a connection of their own, as the schema's owner, closed when done. */
  private async migrateAsOwner(migrationUrl: string): Promise<string[]> {
    const { connection, parts } = this.options;
    // Two connections: runMigrations holds one for its lock while the migrations run on the other.
    const owner = createDataSource({ url: migrationUrl, schema: connection.schema }, { ...parts, applicationName: `${parts.applicationName}-migrations`, poolSize: 2 });
    await owner.initialize();
    try {
      return await runMigrations(owner);
    } finally {
      await owner.destroy();
    }
  }
}

/** TypeORM on the service's own schema, migrated before the service starts listening. */
@Module({})
export class DatabaseModule {
  static forRootAsync(options: DatabaseModuleAsyncOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: options.inject ?? [],
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          useFactory: (...args: any[]) => {
            const resolved = options.useFactory(...args);
            return dataSourceOptions(resolved.connection, resolved.parts);
          },
        }),
      ],
      providers: [{ provide: DATABASE_MODULE_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory }, MigrateOnBoot],
    };
  }
}
