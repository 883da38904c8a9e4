// Checks JSON answers against the types @blaxel/core declares for them.
//
// TypeScript's types are gone at run time, so the check reads them where the
// SDK ships them: its declaration file of the API's models, loaded with the
// TypeScript compiler API. A value conforms to a declared type when each
// field the type declares has a value of the declared type (strings, numbers,
// booleans, the literal unions of enums, arrays, maps, nested types and
// intersections), every required field is there, and every field it carries
// is declared, or sits in a map. Fields the SDK does not declare are listed
// by their declaring type (`JobExecutionSpec.taskCount`), so that the caller
// can tell the API's newer fields from mistakes.

import * as ts from "typescript";

export class Declared {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  /** Loads the type aliases exported by `file` (a `.d.ts`). */
  constructor(file: string) {
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts"],
      types: [],
    });
    this.checker = program.getTypeChecker();
    const source = program.getSourceFile(file);
    const module = source && this.checker.getSymbolAtLocation(source);
    if (!module) {
      throw new Error(`cannot read the declarations in ${file}`);
    }
    for (const symbol of this.checker.getExportsOfModule(module)) {
      if (symbol.flags & ts.SymbolFlags.TypeAlias) {
        this.types.set(symbol.name, this.checker.getDeclaredTypeOfSymbol(symbol));
      }
    }
    if (this.types.size === 0) {
      throw new Error(`${file} exports no types`);
    }
  }

  /** Whether the declared type `owner` has a property `field`. */
  declares(owner: string, field: string): boolean {
    const type = this.types.get(owner);
    return type !== undefined && this.checker.getPropertyOfType(type, field) !== undefined;
  }

  /**
   * What is wrong with `value` as a `name` (a type the file exports, or such
   * a name followed by `[]`): a list of problems, empty when it conforms.
   * Undeclared fields are returned apart, as `Owner.field` with the path
   * where each was seen.
   */
  check(value: unknown, name: string): { problems: string[]; undeclared: Map<string, string> } {
    const array = name.endsWith("[]");
    const base = array ? name.slice(0, -2) : name;
    const type = this.types.get(base);
    if (type === undefined) {
      throw new Error(`@blaxel/core declares no type ${base}`);
    }
    const out = { problems: [] as string[], undeclared: new Map<string, string>() };
    if (array) {
      if (!Array.isArray(value)) {
        out.problems.push(`${name}: ${short(value)} is not an array`);
      } else {
        value.forEach((item, i) => this.walk(item, type, `${base}[${i}]`, out));
      }
    } else {
      this.walk(value, type, name, out);
    }
    return out;
  }

  private walk(
    value: unknown,
    type: ts.Type,
    path: string,
    out: { problems: string[]; undeclared: Map<string, string> },
  ): void {
    const f = type.flags;
    const problem = (what: string) => out.problems.push(`${path}: ${short(value)} ${what}`);
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
      return;
    }
    if (f & ts.TypeFlags.Boolean) {
      if (typeof value !== "boolean") problem("is not a boolean");
      return;
    }
    if (type.isUnion()) {
      // JSON has no undefined: an optional field is either absent or set.
      const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
      const attempts = members.map((member) => {
        const sub = { problems: [] as string[], undeclared: new Map<string, string>() };
        this.walk(value, member, path, sub);
        return sub;
      });
      const passed = attempts.find((a) => a.problems.length === 0);
      if (passed) {
        passed.undeclared.forEach((where, field) => out.undeclared.set(field, where));
        return;
      }
      // A member of the value's own kind, with problems further down,
      // says more than "none of".
      const deeper = attempts.filter((a) => !a.problems.some((p) => p.startsWith(`${path}: `)));
      if (deeper.length > 0) {
        const best = deeper.reduce((a, b) => (b.problems.length < a.problems.length ? b : a));
        out.problems.push(...best.problems);
        best.undeclared.forEach((where, field) => out.undeclared.set(field, where));
      } else {
        problem(`is none of ${members.map((m) => this.checker.typeToString(m)).join(" | ")}`);
      }
      return;
    }
    if (type.isStringLiteral()) {
      if (value !== type.value) problem(`is not "${type.value}"`);
      return;
    }
    if (type.isNumberLiteral()) {
      if (value !== type.value) problem(`is not ${type.value}`);
      return;
    }
    if (f & ts.TypeFlags.BooleanLiteral) {
      const expected = this.checker.typeToString(type) === "true";
      if (value !== expected) problem(`is not ${expected}`);
      return;
    }
    if (f & ts.TypeFlags.String) {
      if (typeof value !== "string") problem("is not a string");
      return;
    }
    if (f & ts.TypeFlags.Number) {
      if (typeof value !== "number" || !Number.isFinite(value)) problem("is not a number");
      return;
    }
    if (f & ts.TypeFlags.Null) {
      if (value !== null) problem("is not null");
      return;
    }
    if (this.checker.isArrayType(type)) {
      if (!Array.isArray(value)) {
        problem("is not an array");
        return;
      }
      const [item] = this.checker.getTypeArguments(type as ts.TypeReference);
      value.forEach((v, i) => this.walk(v, item, `${path}[${i}]`, out));
      return;
    }
    if (f & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problem(`is not an object (${this.checker.typeToString(type)})`);
        return;
      }
      const record = value as Record<string, unknown>;
      const owner = ownerName(type);
      const properties = this.checker.getPropertiesOfType(type);
      const declared = new Set<string>();
      for (const property of properties) {
        declared.add(property.name);
        const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
        if (!(property.name in record)) {
          if (!optional) out.problems.push(`${path}.${property.name}: required by ${owner}, missing`);
          continue;
        }
        this.walk(record[property.name], this.checker.getTypeOfSymbol(property), `${path}.${property.name}`, out);
      }
      const index = this.checker.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.String);
      for (const [key, v] of Object.entries(record)) {
        if (declared.has(key)) continue;
        if (index) {
          this.walk(v, index.type, `${path}.${key}`, out);
        } else if (!out.undeclared.has(`${owner}.${key}`)) {
          out.undeclared.set(`${owner}.${key}`, `${path}.${key}`);
        }
      }
      return;
    }
    problem(`cannot be checked against ${this.checker.typeToString(type)}`);
  }
}

/** The name a reader knows an object type by: its alias, else its own name. */
function ownerName(type: ts.Type): string {
  if (type.aliasSymbol) return type.aliasSymbol.name;
  const name = type.getSymbol()?.name;
  return name && !name.startsWith("__") ? name : "(an inline object type)";
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}
