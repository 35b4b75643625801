import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

// A config file stops Prisma from reading .env itself: DATABASE_URL comes from the environment
// (dev/main.ts and the test setup set it for the embedded PostgreSQL).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error('DATABASE_URL is not set: prisma migrate needs a database');
    return new PrismaPg({ connectionString });
  },
});
