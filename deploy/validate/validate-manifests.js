// Checks csml's Kubernetes manifests (deploy/kubernetes/) without a cluster, in three layers
// (docs/DEPLOYMENT.md, "What is validated"):
//
//  1. schema: every document against the Kubernetes API's OpenAPI schema for its apiVersion
//     and kind, as the npm package kubernetes-models compiles it (types, required fields,
//     enums, quantity and int-or-string formats);
//  2. strict: no field the API does not define (the schema layer lets unknown fields pass, and
//     the API server would drop a misspelt one silently): every key is looked up in the
//     model's TypeScript declarations, which list each object's fields;
//  3. csml: what the deployment relies on: selectors that select the pod template, ports and
//     probes that name the container's port, the probe paths (/readyz, /healthz), the model
//     volume mounted at MODEL_DIR (read-only for serving), requests <= limits on every
//     container, the image's user (Dockerfile USER) in runAsUser, a termination grace period
//     longer than the drain, the kustomization listing every file, the training CronJob's
//     command; and the Dockerfile's build packages all listed in scripts/install-deps.sh.
//
// With --self-test it then breaks the manifests in known ways (a misspelt field, a wrong type,
// a wrong probe path, a selector that selects nothing, a missing limit, ...) and fails unless
// every break is reported, so the checks themselves are checked.
//
// Usage: node validate-manifests.js --node-modules DIR --repo DIR [--self-test]
"use strict";

const fs = require("fs");
const path = require("path");

function parseArgs(argv) {
  const args = { selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--node-modules") args.nodeModules = argv[++i];
    else if (argv[i] === "--repo") args.repo = argv[++i];
    else if (argv[i] === "--self-test") args.selfTest = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!args.nodeModules || !args.repo) {
    throw new Error("usage: validate-manifests.js --node-modules DIR --repo DIR [--self-test]");
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const nodeModules = path.resolve(args.nodeModules);
const requireDep = (name) => require(require.resolve(name, { paths: [nodeModules] }));
const YAML = requireDep("yaml");
const modelsRoot = path.dirname(require.resolve("kubernetes-models/package.json", { paths: [nodeModules] }));
const manifestsDir = path.join(args.repo, "deploy", "kubernetes");

// ---- loading --------------------------------------------------------------------------------

// Every document of every *.yaml file: {file, index, doc}; YAML syntax errors are problems.
function loadManifests(problems) {
  const out = [];
  const files = fs.readdirSync(manifestsDir).filter((f) => f.endsWith(".yaml")).sort();
  for (const file of files) {
    const text = fs.readFileSync(path.join(manifestsDir, file), "utf8");
    YAML.parseAllDocuments(text).forEach((document, index) => {
      for (const e of document.errors) problems.push(`${file}: YAML: ${e.message}`);
      const doc = document.toJS();
      if (doc !== null && doc !== undefined) out.push({ file, index, doc });
    });
  }
  return out;
}

// ---- layer 1: the API schemas ---------------------------------------------------------------

// The kubernetes-models module for an apiVersion and kind: "apps/v1" -> apps/v1/Deployment.
function modelPath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const rel = path.join(...apiVersion.split("/"), kind);
  const file = path.join(modelsRoot, `${rel}.js`);
  return fs.existsSync(file) ? path.join(modelsRoot, rel) : null;
}

function checkSchema(entry, problems) {
  const { file, doc } = entry;
  const where = `${file}: ${doc.kind || "?"} ${(doc.metadata && doc.metadata.name) || "?"}`;
  const mod = modelPath(doc.apiVersion, doc.kind);
  if (mod === null) {
    problems.push(`${where}: no Kubernetes API type ${doc.apiVersion} ${doc.kind}`);
    return false;
  }
  const Model = require(mod)[doc.kind];
  try {
    new Model(doc).validate();
  } catch (e) {
    problems.push(`${where}: schema: ${e.message}`);
  }
  return true;
}

// ---- layer 2: unknown fields, from the TypeScript declarations -------------------------------

const declarations = new Map();  // .d.ts path -> {fields: Map(name -> type text), imports}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

// The body of the first `export interface` in a declaration file, and its imports.
function readDeclaration(file) {
  if (declarations.has(file)) return declarations.get(file);
  const text = stripComments(fs.readFileSync(file, "utf8"));
  const imports = new Map();
  for (const m of text.matchAll(/import \{([^}]*)\} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      imports.set(name, m[2]);
    }
  }
  let fields = null;
  const start = text.search(/export interface \w+[^{]*\{/);
  if (start >= 0) {
    let i = text.indexOf("{", start) + 1;
    let depth = 1;
    const bodyStart = i;
    while (depth > 0 && i < text.length) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}") depth--;
      i++;
    }
    fields = parseFields(text.slice(bodyStart, i - 1));
  }
  const result = { fields, imports, file };
  declarations.set(file, result);
  return result;
}

// `"name"?: Type;` entries at depth 0 of an interface body -> Map(name -> type text).
function parseFields(body) {
  const fields = new Map();
  const re = /"([^"]+)"\??:\s*/g;
  let m;
  while ((m = re.exec(body)) !== null) {
    let i = re.lastIndex;
    let depth = 0;
    while (i < body.length && !(depth === 0 && body[i] === ";")) {
      if ("{<(".includes(body[i])) depth++;
      else if ("}>)".includes(body[i])) depth--;
      i++;
    }
    fields.set(m[1], body.slice(re.lastIndex, i).trim());
    re.lastIndex = i + 1;
  }
  return fields;
}

function resolveImport(fromFile, spec) {
  let base;
  if (spec.startsWith(".")) base = path.resolve(path.dirname(fromFile), spec);
  else base = path.join(nodeModules, spec);
  return fs.existsSync(`${base}.d.ts`) ? `${base}.d.ts` : null;
}

// Walks `value` along the declared type; reports keys the type does not declare.
function checkFields(value, typeText, decl, where, problems) {
  if (value === null || typeof value !== "object") return;
  const t = typeText.trim();
  const arrayOf = /^Array<([\s\S]*)>$/.exec(t);
  if (arrayOf) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => checkFields(v, arrayOf[1], decl, `${where}[${i}]`, problems));
    }
    return;
  }
  const mapOf = /^\{\s*\[key: string\]:\s*([\s\S]*?);?\s*\}$/.exec(t);
  if (mapOf) {
    for (const [k, v] of Object.entries(value)) {
      checkFields(v, mapOf[1], decl, `${where}.${k}`, problems);
    }
    return;
  }
  if (!/^\w+$/.test(t) || !decl.imports.has(t)) return;  // a scalar, a union or a local type
  const file = resolveImport(decl.file, decl.imports.get(t));
  if (file === null) return;
  checkObject(value, readDeclaration(file), where, problems);
}

function checkObject(value, decl, where, problems) {
  if (decl.fields === null || Array.isArray(value)) return;  // a type alias (quantity, time...)
  for (const [key, v] of Object.entries(value)) {
    if (!decl.fields.has(key)) {
      problems.push(`${where}: unknown field "${key}" (the API defines ${[...decl.fields.keys()].join(", ")})`);
      continue;
    }
    checkFields(v, decl.fields.get(key), decl, `${where}.${key}`, problems);
  }
}

function checkStrict(entry, problems) {
  const { file, doc } = entry;
  const mod = modelPath(doc.apiVersion, doc.kind);
  if (mod === null) return;
  checkObject(doc, readDeclaration(`${mod}.d.ts`), `${file}: ${doc.kind}`, problems);
}

// ---- layer 3: what csml's deployment relies on ---------------------------------------------

const QUANTITY_SUFFIX = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
function quantity(q) {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  return m ? Number(m[1]) * QUANTITY_SUFFIX[m[2] || ""] : NaN;
}

function selects(selector, labels) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels && labels[k] === v);
}

// The value of --name=V or --name V in args, or undefined.
function flag(argsList, name) {
  for (let i = 0; i < argsList.length; i++) {
    if (argsList[i] === name) return argsList[i + 1];
    if (argsList[i].startsWith(`${name}=`)) return argsList[i].slice(name.length + 1);
  }
  return undefined;
}

function imageUser(repo) {
  const text = fs.readFileSync(path.join(repo, "Dockerfile"), "utf8");
  const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  return users.length ? users[users.length - 1] : undefined;
}

function imageModelDir(repo) {
  const m = /MODEL_DIR=(\S+)/.exec(fs.readFileSync(path.join(repo, "Dockerfile"), "utf8"));
  return m ? m[1] : undefined;
}

// Dockerfile build-stage packages (apt-get install lines before the runtime stage) must be
// among scripts/install-deps.sh's, so the image builds with what the repository builds with.
function checkDockerfilePackages(repo, problems, docker = fs.readFileSync(path.join(repo, "Dockerfile"), "utf8")) {
  const buildStage = docker.split(/^FROM .* AS runtime$/m)[0];
  const install = /apt-get install[^\n]*--no-install-recommends\s*\\\n([\s\S]*?)&& rm -rf/.exec(buildStage);
  if (!install) {
    problems.push("Dockerfile: no apt-get install in the build stage");
    return;
  }
  const wanted = install[1].split(/[\s\\]+/).filter(Boolean);
  const deps = fs.readFileSync(path.join(repo, "scripts", "install-deps.sh"), "utf8");
  const listed = new Set((/packages=\(([\s\S]*?)\)/.exec(deps) || ["", ""])[1].split(/\s+/));
  for (const p of wanted) {
    if (!listed.has(p)) problems.push(`Dockerfile: build package ${p} is not in scripts/install-deps.sh`);
  }
}

function checkCsml(entries, problems) {
  const byKind = (kind) => entries.filter((e) => e.doc.kind === kind);
  const named = (kind, name) => byKind(kind).find((e) => e.doc.metadata && e.doc.metadata.name === name);
  const user = imageUser(args.repo);
  const modelDir = imageModelDir(args.repo);

  // The kustomization names every manifest, and nothing else.
  const kust = entries.find((e) => e.doc.kind === "Kustomization");
  const files = new Set(entries.filter((e) => e.doc.kind !== "Kustomization").map((e) => e.file));
  if (!kust) {
    problems.push("kustomization.yaml: missing");
  } else {
    const listed = new Set(kust.doc.resources || []);
    for (const f of files) if (!listed.has(f)) problems.push(`kustomization.yaml: resources does not list ${f}`);
    for (const f of listed) if (!files.has(f)) problems.push(`kustomization.yaml: lists ${f}, which is not a manifest here`);
  }
  const kustImages = new Set(((kust && kust.doc.images) || []).map((i) => i.name));

  // Every pod template: containers, resources, volumes, env sources, security context.
  const podOwners = [...byKind("Deployment"), ...byKind("CronJob")];
  for (const e of podOwners) {
    const where = `${e.file}: ${e.doc.kind} ${e.doc.metadata.name}`;
    const template = e.doc.kind === "CronJob"
      ? (((e.doc.spec || {}).jobTemplate || {}).spec || {}).template
      : (e.doc.spec || {}).template;
    const pod = (template && template.spec) || {};
    const podSecurity = pod.securityContext || {};
    if (user && String(podSecurity.runAsUser) !== user.split(":")[0]) {
      problems.push(`${where}: runAsUser ${podSecurity.runAsUser} is not the image's user ${user}`);
    }
    if (podSecurity.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
    const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
    for (const v of volumes.values()) {
      if (v.persistentVolumeClaim && !named("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)) {
        problems.push(`${where}: volume ${v.name} claims ${v.persistentVolumeClaim.claimName}, which no manifest defines`);
      }
    }
    for (const c of pod.containers || []) {
      const cw = `${where}: container ${c.name}`;
      if (!kustImages.has(c.image)) problems.push(`${cw}: image ${c.image} is not in kustomization.yaml's images`);
      const res = c.resources || {};
      for (const r of ["cpu", "memory"]) {
        const req = (res.requests || {})[r];
        const lim = (res.limits || {})[r];
        if (req === undefined || lim === undefined) {
          problems.push(`${cw}: resources must set both requests.${r} and limits.${r}`);
        } else if (!(quantity(req) <= quantity(lim))) {
          problems.push(`${cw}: requests.${r} ${req} exceeds limits.${r} ${lim}`);
        }
      }
      for (const src of c.envFrom || []) {
        if (src.configMapRef && !named("ConfigMap", src.configMapRef.name)) {
          problems.push(`${cw}: envFrom names ConfigMap ${src.configMapRef.name}, which no manifest defines`);
        }
      }
      const env = new Map((c.env || []).map((v) => [v.name, v.value]));
      const dir = env.get("MODEL_DIR") || modelDir;
      const mount = (c.volumeMounts || []).find((m) => m.mountPath === dir);
      if (!mount) problems.push(`${cw}: nothing is mounted at MODEL_DIR ${dir}`);
      for (const m of c.volumeMounts || []) {
        if (!volumes.has(m.name)) problems.push(`${cw}: volumeMount ${m.name} names no volume of the pod`);
      }
      const sc = c.securityContext || {};
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${cw}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${cw}: readOnlyRootFilesystem is not true`);
      if (e.doc.kind === "CronJob") {
        const a = c.args || [];
        if (a[0] !== "train" || flag(a, "--days") !== "90") {
          problems.push(`${cw}: args must run csml train --days=90, got ${JSON.stringify(a)}`);
        }
        if (mount && mount.readOnly) problems.push(`${cw}: training needs the model store writable`);
      }
    }
  }

  // The serving Deployment: probes, ports, drain, the registry read-only.
  for (const e of byKind("Deployment")) {
    const where = `${e.file}: Deployment ${e.doc.metadata.name}`;
    const spec = e.doc.spec || {};
    const tmpl = spec.template || {};
    const labels = (tmpl.metadata || {}).labels || {};
    if (!selects((spec.selector || {}).matchLabels, labels)) {
      problems.push(`${where}: spec.selector does not select the pod template's labels`);
    }
    const pod = tmpl.spec || {};
    const c = (pod.containers || [])[0] || {};
    const a = c.args || [];
    const portFlag = Number(flag(a, "--port"));
    if (a[0] !== "serve") problems.push(`${where}: the container does not run csml serve`);
    if (flag(a, "--host") !== "0.0.0.0") problems.push(`${where}: csml serve must listen on 0.0.0.0 (--host)`);
    const ports = new Map((c.ports || []).map((p) => [p.name, p.containerPort]));
    if (ports.get("http") !== portFlag) {
      problems.push(`${where}: containerPort "http" (${ports.get("http")}) is not csml serve's --port ${portFlag}`);
    }
    const portOf = (p) => (typeof p === "string" ? ports.get(p) : p);
    const ready = ((c.readinessProbe || {}).httpGet) || {};
    if (ready.path !== "/readyz" || portOf(ready.port) !== portFlag) {
      problems.push(`${where}: readinessProbe must GET /readyz on port ${portFlag}`);
    }
    const live = c.livenessProbe || {};
    const liveText = live.httpGet ? `${live.httpGet.path}:${portOf(live.httpGet.port)}` : JSON.stringify((live.exec || {}).command || []);
    if (!liveText.includes("/healthz") || !liveText.includes(String(portFlag))) {
      problems.push(`${where}: livenessProbe must ask /healthz on port ${portFlag}`);
    }
    const mount = (c.volumeMounts || []).find((m) => m.mountPath === modelDir);
    if (mount && mount.readOnly !== true) problems.push(`${where}: serving replicas must mount the model store read-only`);
    const drain = Number(flag(a, "--drain-delay-ms") || 0);
    const grace = Number(flag(a, "--shutdown-grace-ms") || 5000);
    const period = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
    if (period * 1000 <= drain + grace) {
      problems.push(`${where}: terminationGracePeriodSeconds ${period} s does not cover --drain-delay-ms ${drain} + --shutdown-grace-ms ${grace}`);
    }
    // The Service, the PodDisruptionBudget and the autoscaler point at this Deployment.
    for (const s of byKind("Service")) {
      if (!selects(s.doc.spec.selector, labels)) problems.push(`${s.file}: Service ${s.doc.metadata.name} selects no pod of ${e.doc.metadata.name}`);
      for (const p of s.doc.spec.ports || []) {
        if (portOf(p.targetPort) !== portFlag) problems.push(`${s.file}: Service port ${p.name} targets ${p.targetPort}, not csml serve's port`);
      }
    }
    for (const p of byKind("PodDisruptionBudget")) {
      if (!selects((p.doc.spec.selector || {}).matchLabels, labels)) problems.push(`${p.file}: PodDisruptionBudget selects no pod of ${e.doc.metadata.name}`);
    }
    for (const h of byKind("HorizontalPodAutoscaler")) {
      const ref = h.doc.spec.scaleTargetRef || {};
      if (ref.kind !== "Deployment" || ref.name !== e.doc.metadata.name) {
        problems.push(`${h.file}: HorizontalPodAutoscaler scales ${ref.kind} ${ref.name}, not Deployment ${e.doc.metadata.name}`);
      }
      if (!(h.doc.spec.minReplicas >= 2)) problems.push(`${h.file}: minReplicas below 2 leaves a single replica`);
    }
  }
  if (byKind("Deployment").length !== 1) problems.push("expected exactly one Deployment (csml serve)");
  if (byKind("CronJob").length !== 1) problems.push("expected exactly one CronJob (csml train)");
  if (byKind("Service").length < 1) problems.push("expected a Service");
  if (byKind("HorizontalPodAutoscaler").length !== 1) problems.push("expected a HorizontalPodAutoscaler");
}

// ---- running -------------------------------------------------------------------------------

function validate(entries, options = { dockerfile: true }) {
  const problems = [];
  for (const entry of entries) {
    if (entry.doc.kind === "Kustomization") {
      const known = new Set(["apiVersion", "kind", "labels", "resources", "images", "namespace"]);
      for (const k of Object.keys(entry.doc)) {
        if (!known.has(k)) problems.push(`${entry.file}: field "${k}" is not one this check knows`);
      }
      continue;
    }
    if (checkSchema(entry, problems)) checkStrict(entry, problems);
  }
  checkCsml(entries, problems);
  if (options.dockerfile) checkDockerfilePackages(args.repo, problems);
  return problems;
}

// Known breaks: each must be reported, by a problem matching its pattern.
const container = (d) => d.spec.template.spec.containers[0];
const trainer = (d) => d.spec.jobTemplate.spec.template.spec.containers[0];
const MUTATIONS = [
  ["a misspelt container field", "Deployment", /unknown field "readinessProbes"/,
    (d) => { container(d).readinessProbes = container(d).readinessProbe; delete container(d).readinessProbe; }],
  ["a misplaced field in the pod spec", "Deployment", /spec\.template\.spec: unknown field "replicas"/,
    (d) => { d.spec.template.spec.replicas = 3; }],
  ["a misspelt field deep in an env source", "Deployment", /secretKeyRef: unknown field "optinal"/,
    (d) => { container(d).env[1].valueFrom.secretKeyRef.optinal = true; }],
  ["a misspelt field deep in the CronJob", "CronJob", /capabilities: unknown field "dropp"/,
    (d) => { trainer(d).securityContext.capabilities.dropp = ["ALL"]; }],
  ["a string where the API wants an integer", "Deployment", /replicas must be integer/,
    (d) => { d.spec.replicas = "2"; }],
  ["a CPU quantity that is not one", "Deployment", /must match format "quantity"/,
    (d) => { container(d).resources.requests.cpu = "lots"; }],
  ["a value outside an enum", "Service", /must be equal to one of the allowed values/,
    (d) => { d.spec.type = "Public"; }],
  ["a missing required field", "CronJob", /required property 'schedule'|required property schedule/,
    (d) => { delete d.spec.schedule; }],
  ["an unknown apiVersion", "HorizontalPodAutoscaler", /no Kubernetes API type autoscaling\/v9/,
    (d) => { d.apiVersion = "autoscaling/v9"; }],
  ["a memory request above its limit", "Deployment", /requests\.memory 1Gi exceeds limits\.memory/,
    (d) => { container(d).resources.requests.memory = "1Gi"; }],
  ["no CPU limit", "CronJob", /both requests\.cpu and limits\.cpu/,
    (d) => { delete trainer(d).resources.limits.cpu; }],
  ["a readiness probe on the wrong path", "Deployment", /readinessProbe must GET \/readyz/,
    (d) => { container(d).readinessProbe.httpGet.path = "/healthz"; }],
  ["a liveness probe on another port", "Deployment", /livenessProbe must ask \/healthz/,
    (d) => { container(d).livenessProbe = { httpGet: { path: "/healthz", port: 9000 } }; }],
  ["a Service that selects no pod", "Service", /Service csml selects no pod/,
    (d) => { d.spec.selector["app.kubernetes.io/component"] = "api"; }],
  ["a Service aimed at another port", "Service", /targets 8080, not csml serve's port/,
    (d) => { d.spec.ports[0].targetPort = 8080; }],
  ["a model store mounted writable for serving", "Deployment", /must mount the model store read-only/,
    (d) => { container(d).volumeMounts[0].readOnly = false; }],
  ["a model store mounted elsewhere", "CronJob", /nothing is mounted at MODEL_DIR/,
    (d) => { trainer(d).volumeMounts[0].mountPath = "/models"; }],
  ["root as the pod's user", "Deployment", /runAsUser 0 is not the image's user/,
    (d) => { d.spec.template.spec.securityContext.runAsUser = 0; }],
  ["a grace period shorter than the drain", "Deployment", /does not cover --drain-delay-ms/,
    (d) => { d.spec.template.spec.terminationGracePeriodSeconds = 10; }],
  ["an autoscaler aimed at another Deployment", "HorizontalPodAutoscaler", /scales Deployment other/,
    (d) => { d.spec.scaleTargetRef.name = "other"; }],
  ["a CronJob that does not train 90 days", "CronJob", /must run csml train --days=90/,
    (d) => { trainer(d).args = ["train", "--days=30"]; }],
  ["a claim no manifest defines", "Deployment", /claims models, which no manifest defines/,
    (d) => { d.spec.template.spec.volumes[0].persistentVolumeClaim.claimName = "models"; }],
];

function main() {
  const loadProblems = [];
  const entries = loadManifests(loadProblems);
  const problems = loadProblems.concat(validate(entries));
  const kinds = entries.map((e) => e.doc.kind).join(", ");
  if (problems.length > 0) {
    console.log(`validate-manifests: ${problems.length} problem(s) in ${entries.length} documents:`);
    for (const p of problems) console.log(`  ${p}`);
    return 1;
  }
  console.log(`validate-manifests: ${entries.length} documents valid (${kinds})`);
  if (!args.selfTest) return 0;
  let missed = 0;
  for (const [what, kind, pattern, mutate] of MUTATIONS) {
    const copy = entries.map((e) => ({ ...e, doc: structuredClone(e.doc) }));
    mutate(copy.find((e) => e.doc.kind === kind).doc);
    const found = validate(copy, { dockerfile: false });
    const hit = found.find((p) => pattern.test(p));
    if (hit === undefined) {
      console.log(`  self-test: NOT caught: ${what} (reported: ${found.join("; ") || "nothing"})`);
      missed++;
    } else {
      console.log(`  self-test: caught ${what}: ${hit.slice(0, 160)}`);
    }
  }
  // The Dockerfile check, against a build stage that installs a package the repository does not.
  const dockerProblems = [];
  const docker = fs.readFileSync(path.join(args.repo, "Dockerfile"), "utf8");
  checkDockerfilePackages(args.repo, dockerProblems, docker.replace("build-essential ", "build-essential gdb "));
  if (dockerProblems.some((p) => /build package gdb is not in scripts\/install-deps\.sh/.test(p))) {
    console.log(`  self-test: caught a Dockerfile build package missing from install-deps.sh: ${dockerProblems[0]}`);
  } else {
    console.log("  self-test: NOT caught: a Dockerfile build package missing from install-deps.sh");
    missed++;
  }
  const total = MUTATIONS.length + 1;
  console.log(`${total - missed} passed, ${missed} failed`);
  return missed === 0 ? 0 : 1;
}

process.exitCode = main();
