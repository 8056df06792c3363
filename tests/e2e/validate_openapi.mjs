// Validates OpenAPI documents against the OpenAPI 3 JSON schema (npm
// @seriousme/openapi-schema-validator, installed by scripts/install-npm.sh) and checks that
// every local $ref points at something. Run by docs_e2e_test.cc on /openapi.json.
// Usage: node validate_openapi.mjs NODE_MODULES FILE...   exit 0: all valid, 1: a problem.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, ...files] = process.argv.slice(2);
if (!nodeModules || files.length === 0) {
  console.error("usage: node validate_openapi.mjs NODE_MODULES FILE...");
  process.exit(2);
}
const { Validator } = await import(
  pathToFileURL(join(nodeModules, "@seriousme/openapi-schema-validator", "index.js")).href);

// Calls visit(ref, where) for every {"$ref": ...} in value.
function eachRef(value, where, visit) {
  if (Array.isArray(value)) {
    value.forEach((item, i) => eachRef(item, `${where}/${i}`, visit));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string") visit(item, where);
      else eachRef(item, `${where}/${key}`, visit);
    }
  }
}

function resolves(doc, ref) {
  if (!ref.startsWith("#/")) return false;
  let at = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (at === null || typeof at !== "object" || !(key in at)) return false;
    at = at[key];
  }
  return true;
}

let failed = false;
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, "utf8"));
  const result = await new Validator().validate(doc);
  const problems = [];
  if (!result.valid) {
    for (const error of [].concat(result.errors)) problems.push(JSON.stringify(error));
  }
  eachRef(doc, "#", (ref, where) => {
    if (!resolves(doc, ref)) problems.push(`${where}: $ref ${ref} points at nothing`);
  });
  if (problems.length > 0) {
    failed = true;
    console.log(`${file}: INVALID (${problems.length} problems)`);
    for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
  } else {
    console.log(`${file}: valid OpenAPI ${doc.openapi}`);
  }
}
process.exit(failed ? 1 : 0);
