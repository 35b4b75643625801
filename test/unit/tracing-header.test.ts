import { TRACE_HEADER as interceptorsHeader } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import { describe, expect, it } from 'vitest';
import { TRACE_HEADER } from '../../worker/sandbox/tracing.js';

describe('worker/sandbox/tracing.ts', () => {
  // It names the header itself so that an untraced run evaluates none of the OpenTelemetry libraries.
  it('reads the trace from the header the OpenTelemetry interceptors write', () => {
    expect(TRACE_HEADER).toBe(interceptorsHeader);
  });
});
