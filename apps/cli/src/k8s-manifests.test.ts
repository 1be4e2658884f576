import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { envOf, type OptionSpec } from '@shardlab/options';
import { COORDINATOR_COMMAND_OPTIONS } from '@shardlab/coordinator';
import { TRAINER_COMMAND_OPTIONS } from '@shardlab/trainer';

/*
 * deploy/k8s proved offline (no control plane can run here): each kustomization is rendered (kubectl's kustomize
 * when this machine has kubectl; the base also by reading its plain manifests, checked against kubectl's output
 * where both exist), every object is validated against the Kubernetes schemas (the npm package
 * kubernetes-models), and what a cluster would reveal only at run time is checked here: selectors, ports, images,
 * SHARDLAB_ variables, the worker count, peer names, security context, probes, volumes.
 */
const ROOT = resolve(__dirname, '../../..');
const K8S = join(ROOT, 'deploy/k8s');
type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function kubectlKustomize(dir: string): Obj[] | null {
  try {
    const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(text).map((d) => d.toJS() as Obj);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The base read directly: its resources, its labels, images and replacements (the parts of kustomize it uses). */
function readBase(): Obj[] {
  const k = parseYaml(readFileSync(join(K8S, 'base/kustomization.yaml'), 'utf8')) as Any;
  const objects: Obj[] = (k.resources as string[]).flatMap((f) => parseAllDocuments(readFileSync(join(K8S, 'base', f), 'utf8')).map((d) => d.toJS() as Obj));
  for (const o of objects) o.metadata.labels = { ...(o.metadata.labels ?? {}), ...Object.assign({}, ...(k.labels as Any[]).map((l) => l.pairs)) };
  for (const o of objects.filter((x) => x.kind === 'Job')) {
    for (const c of (o as Any).spec.template.spec.containers) {
      const image = (k.images as Any[]).find((i) => i.name === c.image);
      if (image) c.image = `${c.image}:${image.newTag}`;
    }
  }
  for (const r of k.replacements as Any[]) {
    const source = objects.find((o) => o.kind === r.source.kind && o.metadata.name === r.source.name) as Any;
    const value = r.source.fieldPath.split('.').reduce((v: Any, p: string) => v[p], source);
    for (const t of r.targets) {
      const target = objects.find((o) => o.kind === t.select.kind && o.metadata.name === t.select.name) as Any;
      for (const path of t.fieldPaths as string[]) {
        const parts = path.split('.');
        const holder = parts.slice(0, -1).reduce((v: Any, p: string) => v[p], target);
        holder[parts.at(-1)!] = Number(value);
      }
    }
  }
  return objects;
}

const MODELS: Record<string, new (o: Any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'batch/v1/Job': Job,
};

/** Image names as deploy/build-images.sh builds them (its defaults). */
function builtImages(): string[] {
  const script = readFileSync(join(ROOT, 'deploy/build-images.sh'), 'utf8');
  const tag = /TAG=\$\{SHARDLAB_IMAGE_TAG:-([^}]+)\}/.exec(script)![1]!;
  return ['coordinator', 'trainer'].map((role) => new RegExp(`\\$\\{SHARDLAB_${role.toUpperCase()}_IMAGE:-(shardlab-${role}):\\$TAG\\}`).exec(script)![1]! + `:${tag}`);
}

/** The default command line of an image target in deploy/Dockerfile (its CMD). */
function imageCmd(target: string): string[] {
  const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
  const stage = dockerfile.slice(dockerfile.indexOf(`AS ${target}`));
  return JSON.parse(/^CMD (\[.*\])$/m.exec(stage)![1]!) as string[];
}

function check(objects: Obj[]): void {
  // Every object is a valid Kubernetes object of its kind.
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    expect(Model, `${o.kind} ${o.metadata.name}: a kind this check knows`).toBeDefined();
    expect(() => new Model!(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
  }
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as Any;
  const settings = find('ConfigMap', 'shardlab-settings').data as Record<string, string>;
  const coordinator = find('Job', 'coordinator');
  const trainer = find('Job', 'trainer');
  const pod = (job: Any) => job.spec.template;
  const container = (job: Any) => pod(job).spec.containers[0];

  // Services select the pods they serve, and their target ports are ports those pods declare.
  for (const svc of objects.filter((o) => o.kind === 'Service') as Any[]) {
    const selected = [coordinator, trainer].filter((j) => Object.entries(svc.spec.selector as Record<string, string>).every(([k, v]) => pod(j).metadata.labels[k] === v));
    expect(selected, `Service ${svc.metadata.name} selects one workload`).toHaveLength(1);
    for (const p of svc.spec.ports) {
      expect(container(selected[0]).ports.map((c: Any) => c.name), `Service ${svc.metadata.name} port ${p.name}`).toContain(p.targetPort);
    }
  }
  // The coordinator listens where the Service and the trainers' default --coordinator say.
  const coordinatorPort = COORDINATOR_COMMAND_OPTIONS.find((o) => o.key === 'port')!.default;
  expect(find('Service', 'coordinator').spec.ports[0].port).toBe(coordinatorPort);
  expect(container(coordinator).ports[0].containerPort).toBe(coordinatorPort);
  const trainerCmd = imageCmd('trainer');
  expect(trainerCmd[trainerCmd.indexOf('--coordinator') + 1]).toBe(`${find('Service', 'coordinator').metadata.name}:${coordinatorPort}`);
  expect(imageCmd('coordinator')).toEqual(expect.arrayContaining(['--host', '0.0.0.0']));

  // Images are what deploy/build-images.sh builds.
  expect([container(coordinator).image, container(trainer).image]).toEqual(builtImages());

  // Every SHARDLAB_ variable is an option of the command that reads it, with a valid value.
  const optionsOf = (options: readonly OptionSpec[]) => new Map(options.map((o) => [envOf(o.key), o]));
  const known = { coordinator: optionsOf(COORDINATOR_COMMAND_OPTIONS), trainer: optionsOf(TRAINER_COMMAND_OPTIONS) };
  for (const name of Object.keys(settings)) {
    expect(known.coordinator.has(name) || known.trainer.has(name), `${name} in shardlab-settings is an option of coordinator or trainer`).toBe(true);
  }
  for (const [role, job] of [['coordinator', coordinator], ['trainer', trainer]] as const) {
    for (const e of (container(job).env ?? []) as Any[]) {
      if (e.name.startsWith('SHARDLAB_')) expect(known[role].has(e.name), `${e.name} on the ${role}`).toBe(true);
    }
    expect(container(job).envFrom[0].configMapRef.name).toBe('shardlab-settings');
  }

  // The worker count agrees everywhere.
  const workers = Number(settings['SHARDLAB_WORKERS']);
  expect(workers).toBeGreaterThanOrEqual(1);
  expect(trainer.spec.completions).toBe(workers);
  expect(trainer.spec.parallelism).toBe(workers);
  expect(trainer.spec.completionMode).toBe('Indexed');

  // Peers: trainer i is the pod trainer-i of the Indexed Job; with the headless Service as its subdomain its DNS name
  // is trainer-i.trainers, which is what it advertises, on the port its Peer service listens on and the Service names.
  const headless = objects.find((o) => o.kind === 'Service' && (o as Any).spec.clusterIP === 'None') as Any;
  expect(pod(trainer).spec.subdomain).toBe(headless.metadata.name);
  const peerPort = Number(settings['SHARDLAB_PEER_PORT']);
  expect(headless.spec.ports[0].port).toBe(peerPort);
  expect(container(trainer).ports[0].containerPort).toBe(peerPort);
  const env = Object.fromEntries((container(trainer).env as Any[]).map((e) => [e.name, e]));
  expect(env['JOB_COMPLETION_INDEX'].valueFrom.fieldRef.fieldPath).toBe("metadata.annotations['batch.kubernetes.io/job-completion-index']");
  expect(env['SHARDLAB_PEER_ADDRESS'].value).toBe(`${trainer.metadata.name}-$(JOB_COMPLETION_INDEX).${headless.metadata.name}:${peerPort}`);
  expect(settings['SHARDLAB_PEER_HOST']).toBe('0.0.0.0');

  // Non-root, read-only root file system, no privilege escalation; requests and limits; the token as a Secret file.
  for (const job of [coordinator, trainer]) {
    const c = container(job);
    // Secret files are mode 0440 (288): readable by the runtime user only through fsGroup.
    expect(pod(job).spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: pod(job).spec.securityContext.runAsGroup });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(c.resources.limits).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(c.livenessProbe, `${job.metadata.name} liveness`).toBeDefined();
    const tokenDir = settings['SHARDLAB_TOKEN_FILE']!.replace(/\/[^/]+$/, '');
    const mount = c.volumeMounts.find((m: Any) => m.mountPath === tokenDir);
    expect(mount, `${job.metadata.name} mounts ${tokenDir}`).toBeDefined();
    expect(pod(job).spec.volumes.find((v: Any) => v.name === mount.name).secret.secretName).toBe('shardlab-token');
  }
  expect(container(coordinator).readinessProbe.exec.command).toEqual(expect.arrayContaining(['status', '--coordinator', `127.0.0.1:${coordinatorPort}`]));
  // Results on the claim, where the image writes them.
  const results = container(coordinator).volumeMounts.find((m: Any) => m.mountPath === '/results');
  expect(pod(coordinator).spec.volumes.find((v: Any) => v.name === results.name).persistentVolumeClaim.claimName).toBe(find('PersistentVolumeClaim', 'shardlab-results').metadata.name);
}

describe('deploy/k8s', () => {
  const kubectl = kubectlKustomize(join(K8S, 'base'));

  it('the base: valid objects that fit together (read directly, and as kubectl renders it when it is here)', () => {
    const direct = readBase();
    check(direct);
    if (kubectl) {
      check(kubectl);
      const key = (o: Obj) => `${o.kind}/${o.metadata.name}`;
      expect(direct.map(key).sort()).toEqual(kubectl.map(key).sort());
      for (const o of kubectl) expect(direct.find((d) => key(d) === key(o)), key(o)).toEqual(o);
    }
  });

  it('the worker count has one home: a changed SHARDLAB_WORKERS reaches the trainer Job', () => {
    const objects = readBase();
    (objects.find((o) => o.kind === 'ConfigMap') as Any).data.SHARDLAB_WORKERS = '8';
    expect(() => check(objects)).toThrow(); // the Job still says 4 until the replacement runs again
    const k = parseYaml(readFileSync(join(K8S, 'base/kustomization.yaml'), 'utf8')) as Any;
    expect(k.replacements[0].source).toMatchObject({ kind: 'ConfigMap', name: 'shardlab-settings', fieldPath: 'data.SHARDLAB_WORKERS' });
  });

  it.skipIf(kubectl === null)('the overlays render, stay valid, and add what they say (kubectl kustomize)', () => {
    const fashion = kubectlKustomize(join(K8S, 'overlays/fashion-mnist'))!;
    check(fashion);
    const settings = (fashion.find((o) => o.kind === 'ConfigMap') as Any).data;
    expect(settings).toMatchObject({ SHARDLAB_DATASET: 'fashion-mnist', SHARDLAB_CLASSES: '0,1,2,3' });
    for (const job of fashion.filter((o) => o.kind === 'Job') as Any[]) {
      expect(job.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'fashion-mnist', mountPath: '/usr/share/datasets/fashion-mnist', readOnly: true });
    }
    const tls = kubectlKustomize(join(K8S, 'overlays/tls'))!;
    check(tls);
    const tlsSettings = (tls.find((o) => o.kind === 'ConfigMap') as Any).data as Record<string, string>;
    for (const job of tls.filter((o) => o.kind === 'Job') as Any[]) {
      const mount = job.spec.template.spec.containers[0].volumeMounts.find((m: Any) => m.name === 'tls');
      for (const k of ['SHARDLAB_TLS_CERT', 'SHARDLAB_TLS_KEY', 'SHARDLAB_TLS_CA']) expect(tlsSettings[k]!.startsWith(`${mount.mountPath}/`), k).toBe(true);
      expect(job.spec.template.spec.volumes.find((v: Any) => v.name === 'tls').secret.secretName).toBe('shardlab-tls');
    }
    // A sweep: the coordinator runs `sweep FILE --cluster` on the Service's port with the file mounted; trainers rejoin.
    const sweep = kubectlKustomize(join(K8S, 'overlays/sweep'))!;
    check(sweep);
    expect((sweep.find((o) => o.kind === 'ConfigMap') as Any).data.SHARDLAB_REJOIN).toBe('true');
    const coordinator = (sweep.find((o) => o.kind === 'Job' && (o as Any).metadata.name === 'coordinator') as Any).spec.template.spec;
    const container = coordinator.containers[0];
    expect(container.command).toEqual(['/usr/local/bin/shardlab-entrypoint', 'sweep']);
    const args = container.args as string[];
    expect(args.slice(1, 6)).toEqual(['--cluster', '--host', '0.0.0.0', '--port', String(container.ports[0].containerPort)]);
    const mount = container.volumeMounts.find((m: Any) => m.name === 'experiments');
    expect(args[0]!.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(coordinator.volumes.find((v: Any) => v.name === 'experiments').configMap.name).toBe('shardlab-sweep');
    expect(args[args.indexOf('--out') + 1]!.startsWith(container.volumeMounts.find((m: Any) => m.name === 'results').mountPath)).toBe(true);
  });
});
