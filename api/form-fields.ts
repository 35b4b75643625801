import { z } from 'zod';
import { fieldIssues } from '../lib/errors.js';
import { fieldsFilledByOthers } from '../processes/index.js';
import type { ProcessDefinition } from '../processes/types.js';
import type { FormField } from './pages/revision.js';

interface JsonSchema {
  type?: string;
  items?: JsonSchema;
  enum?: string[];
  maxLength?: number;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** The input a person starting or editing a run fills in: without the parts outsiders fill in through forms. */
export function inputJsonSchema(process: ProcessDefinition): JsonSchema {
  const schema = z.toJSONSchema(process.inputSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const filledByOthers = fieldsFilledByOthers(process);
  if (!schema.properties || filledByOthers.length === 0) return schema;
  const properties = Object.fromEntries(Object.entries(schema.properties).filter(([name]) => !filledByOthers.includes(name)));
  return { ...schema, properties, required: schema.required?.filter((name) => !filledByOthers.includes(name)) };
}

function humanize(name: string): string {
  const last = name.split('.').at(-1)!;
  const words = last.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/([a-z])(\d)/g, '$1 $2').toLowerCase().replace(/\b(iban|bic|vat|id)\b/g, (w) => w.toUpperCase());
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function get(values: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), values);
}

function fieldFor(name: string, property: JsonSchema, required: boolean, values: Record<string, unknown>, errors: Record<string, string>): FormField {
  const type: FormField['type'] = property.enum
    ? 'select'
    : property.type === 'number' || property.type === 'integer'
      ? 'number'
      : property.type === 'boolean'
        ? 'checkbox'
        : (property.maxLength ?? 0) > 1000
          ? 'textarea'
          : 'text';
  const value = get(values, name);
  return {
    name,
    label: `${humanize(name)}${required ? '' : ' (optional)'}`,
    type,
    options: property.enum,
    value: value === undefined || value === null ? '' : String(value),
    error: errors[name],
    hint: property.description,
    optional: !required,
  };
}

/**
 * Form controls for a process's input, typed from its JSON Schema; nested objects become dotted names, and an
 * array of objects becomes `rows` optional rows named `name.0.field`, `name.1.field`.
 */
export function fieldsFromSchema(schema: JsonSchema, values: Record<string, unknown>, errors: Record<string, string> = {}, only?: string[], rows = 0): FormField[] {
  const fields: FormField[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (only && !only.includes(name)) continue;
    const required = schema.required?.includes(name) ?? false;
    if (property.type === 'array' && property.items?.type === 'object') {
      for (let row = 0; row < rows; row++) {
        for (const [child, childProperty] of Object.entries(property.items.properties ?? {})) {
          fields.push({ ...fieldFor(`${name}.${row}.${child}`, childProperty, false, values, errors), label: `${humanize(name).replace(/s$/, '')} ${row + 1}: ${humanize(child).toLowerCase()} (optional)` });
        }
      }
    } else if (property.type === 'object' && property.properties) {
      for (const [child, childProperty] of Object.entries(property.properties)) {
        const field = fieldFor(`${name}.${child}`, childProperty, required && (property.required?.includes(child) ?? false), values, errors);
        // "City" alone does not say whose: name the group.
        const childLabel = /^[A-Z]{2}/.test(field.label) ? field.label : `${field.label.charAt(0).toLowerCase()}${field.label.slice(1)}`;
        fields.push({ ...field, label: `${humanize(name)}: ${childLabel}` });
      }
    } else {
      fields.push(fieldFor(name, property, required, values, errors));
    }
  }
  return fields;
}

/**
 * Form posts are strings: numbers and booleans go back to their types, blanks are left out (so optional fields
 * and optional nested objects stay absent), dotted names nest.
 */
export function valuesFromForm(schema: JsonSchema, body: Record<string, unknown>, only?: string[], rows = 0): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const filledRows = new Set<string>();
  for (const field of fieldsFromSchema(schema, {}, {}, only, rows)) {
    const raw = body[field.name];
    let value: unknown;
    if (field.type === 'checkbox') value = raw === 'on' || raw === 'true';
    else if (typeof raw !== 'string' || raw.trim() === '') continue;
    else if (field.type === 'number') value = Number.isNaN(Number(raw.trim().replace(/,/g, ''))) ? raw.trim() : Number(raw.trim().replace(/,/g, ''));
    else value = raw.trim();
    const [head, child, grandchild] = field.name.split('.') as [string, string | undefined, string | undefined];
    if (grandchild) {
      // A select always posts a value; a row counts as filled only when something else in it was typed.
      if (field.type !== 'select' && field.type !== 'checkbox') filledRows.add(`${head}.${child}`);
      const list = ((result[head] as Array<Record<string, unknown>>) ??= []);
      list[Number(child)] = { ...list[Number(child)], [grandchild]: value };
    } else if (child) result[head] = { ...((result[head] as Record<string, unknown>) ?? {}), [child]: value };
    else result[head] = value;
  }
  for (const [key, value] of Object.entries(result)) {
    if (Array.isArray(value)) result[key] = value.filter((row, index) => row && filledRows.has(`${key}.${index}`));
  }
  return result;
}

/** A form's own schema (an outside party's form, a task's completion form) as JSON Schema, which draws its fields. */
export function formJsonSchema(schema: z.ZodObject): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** A form drawn from its schema: the fields (values kept, each error beside its field) and the errors no field shows. */
export function formControls(schema: z.ZodObject, values: Record<string, unknown>, errors: Record<string, string> = {}, rows = 0): { fields: FormField[]; generalErrors: string[] } {
  const fields = fieldsFromSchema(formJsonSchema(schema), values, errors, undefined, rows);
  const shown = new Set(fields.map((f) => f.name));
  return { fields, generalErrors: Object.entries(errors).filter(([path]) => !shown.has(path)).map(([path, message]) => `${path}: ${message}`) };
}

export type CheckedForm = { ok: true; data: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/** Values checked with the form's full validator: the parsed data as JSON, or each field's error by its dotted path. */
export function checkFormValues(validator: z.ZodType, values: unknown): CheckedForm {
  const parsed = validator.safeParse(values);
  if (parsed.success) return { ok: true, data: JSON.parse(JSON.stringify(parsed.data)) as Record<string, unknown> };
  return { ok: false, errors: Object.fromEntries(fieldIssues(parsed.error.issues).map((i) => [i.path, i.message])) };
}

/** A posted form (strings) turned back into typed values and checked: the values as typed, to show again, and the outcome. */
export function checkFormPost(schema: z.ZodObject, validator: z.ZodType, body: Record<string, unknown>, rows = 0): { values: Record<string, unknown>; checked: CheckedForm } {
  const values = valuesFromForm(formJsonSchema(schema), body, undefined, rows);
  return { values, checked: checkFormValues(validator, values) };
}
