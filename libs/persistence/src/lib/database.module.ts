import { DynamicModule, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseConnection, DataSourceParts, dataSourceOptions } from './data-source';
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

@Injectable()
class MigrateOnBoot implements OnModuleInit {
  private readonly logger = new Logger('Migrations');

  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    const applied = await runMigrations(this.dataSource);
    this.logger.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
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
      providers: [MigrateOnBoot],
    };
  }
}
