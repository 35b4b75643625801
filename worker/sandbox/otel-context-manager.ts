import { ROOT_CONTEXT, type Context, type ContextManager as OtelContextManager } from '@opentelemetry/api';
import { otelContextStorage } from './shared-storage.js';

/**
 * Stands in for @temporalio/interceptors-opentelemetry's lib/workflow/context-manager.js in the workflow bundle
 * (worker/build-bundle.ts aliases it): the same class, method for method, except that its storage is the one
 * AsyncLocalStorage all workflows share (./shared-storage.ts says why) and that `disable` leaves that storage
 * enabled, since other cached workflows still use it (the interceptors call it when a workflow leaves the cache).
 */
export class ContextManager implements OtelContextManager {
  private readonly storage = otelContextStorage();

  active(): Context {
    return this.storage.getStore() || ROOT_CONTEXT;
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') {
      throw new TypeError(`Only function binding is supported, got ${typeof target}`);
    }
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const contextWrapper = (...args: unknown[]) => this.with(context, () => fn.apply(this, args));
    Object.defineProperty(contextWrapper, 'length', { enumerable: false, configurable: true, writable: false, value: fn.length });
    return contextWrapper as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const cb = thisArg == null ? fn : (fn.bind(thisArg) as F);
    return this.storage.run(context, cb, ...args);
  }
}
