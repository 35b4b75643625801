import pg from 'pg';

/**
 * Clones the migrated template database: a fresh, fully migrated database per test file in milliseconds.
 * PostgreSQL refuses a clone while another session uses the template (two files starting at once): retry.
 */
export async function cloneTemplateDatabase(serverUrl: string, template: string, name: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      return `${serverUrl}/${name}`;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    } finally {
      await client.end();
    }
  }
}
