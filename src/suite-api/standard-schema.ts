/**
 * Standard Schema v1 (https://standardschema.dev): the interface a schema library implements so that
 * others can validate with it without depending on it (zod 4, valibot, ArkType, effect/schema... do;
 * a hand-written object with a `~standard.validate` function does too). Copied here, types only, as
 * the spec asks, so the suite contract depends on no library.
 */

/** A schema any Standard Schema library made (or one written by hand). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

export declare namespace StandardSchemaV1 {
  interface Props<Input = unknown, Output = Input> {
    /** The version of the standard: 1. */
    readonly version: 1;
    /** The schema library's name (e.g. `zod`). */
    readonly vendor: string;
    /** Validates an unknown value: the output (defaults filled in, values converted), or the issues. */
    readonly validate: (value: unknown, options?: Options | undefined) => Result<Output> | Promise<Result<Output>>;
    /** Inferred types, for TypeScript only. */
    readonly types?: Types<Input, Output> | undefined;
  }
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface Options {
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  interface Issue {
    /** What is wrong, in the library's words. */
    readonly message: string;
    /** Where in the value (keys and indexes from the top), if anywhere in particular. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  interface PathSegment {
    readonly key: PropertyKey;
  }
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
  type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];
  type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}
