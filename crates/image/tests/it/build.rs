//! The build primitives a Dockerfile builder records its steps with: config-only steps,
//! layers from a tar, a build container's changes; reproducible ids; and build images kept
//! from `prune` and the automatic policy by a build lease and the build cache index.

use std::time::{Duration, SystemTime};

use berth_image::{
    chain_ids, BuildHistory, ContainerConfig, Digest, GcPolicy, ImageStore, PruneOptions,
};
use berth_testutil::require_root;

use crate::common::{data_layer, docker_archive, load_bytes, tar_of, temp_store, Entry, Img};

fn step(created_by: &str, created: i64) -> BuildHistory {
    BuildHistory {
        created_by: created_by.into(),
        created,
        comment: None,
    }
}

fn env(vars: &[&str]) -> ContainerConfig {
    ContainerConfig {
        env: Some(vars.iter().map(|v| v.to_string()).collect()),
        ..ContainerConfig::default()
    }
}

fn ids(store: &ImageStore) -> Vec<Digest> {
    store
        .list()
        .unwrap()
        .iter()
        .map(|i| i.id().clone())
        .collect()
}

#[test]
fn derive_config_keeps_the_layers_and_adds_an_empty_layer_entry() {
    require_root!();
    let (_tmp, store) = temp_store();
    let base = Img::new(
        vec![data_layer("a", 1, 1000), data_layer("b", 2, 1000)],
        &["base:1"],
    );
    load_bytes(&store, &docker_archive(std::slice::from_ref(&base))).expect("load");
    let parent = store.get(&base.id()).unwrap();

    let id = store
        .derive_config(
            Some(&base.id()),
            env(&["A=1"]),
            BuildHistory {
                created_by: "/bin/sh -c #(nop)  ENV A=1".into(),
                created: 1_700_000_000,
                comment: Some("a step".into()),
            },
        )
        .expect("derive");
    let img = store.get(&id).unwrap();
    assert!(img.is_dangling(), "build images are untagged");
    assert_eq!(img.manifest.layers, parent.manifest.layers);
    assert_eq!(img.config.rootfs, parent.config.rootfs);
    assert_eq!(img.config.history.len(), parent.config.history.len() + 1);
    let last = img.config.history.last().unwrap();
    assert_eq!(last.empty_layer, Some(true));
    assert_eq!(
        last.created_by.as_deref(),
        Some("/bin/sh -c #(nop)  ENV A=1")
    );
    assert_eq!(last.comment.as_deref(), Some("a step"));
    assert_eq!(img.created_unix(), 1_700_000_000);
    assert_eq!(img.config.config.as_ref().unwrap().env, env(&["A=1"]).env);
    assert_eq!(img.config.architecture, parent.config.architecture);

    // FROM scratch: no layers, one history entry.
    let scratch = store
        .derive_config(None, env(&["B=2"]), step("ENV B=2", 5))
        .expect("derive from scratch");
    let img = store.get(&scratch).unwrap();
    assert!(img.manifest.layers.is_empty() && img.config.rootfs.diff_ids.is_empty());
    assert_eq!(img.config.history.len(), 1);
    assert_eq!(img.config.history[0].empty_layer, Some(true));
}

#[test]
fn append_layer_unpacks_on_scratch_and_on_a_parent() {
    require_root!();
    let (_tmp, store) = temp_store();
    let t1 = tar_of(&[Entry::Dir("app/"), Entry::File("app/one.txt", b"one")]);
    let first = store
        .append_layer(None, &t1[..], env(&[]), step("COPY one.txt /app/", 10))
        .expect("append on scratch");
    let img = store.get(&first).unwrap();
    let d1 = Digest::of(&t1);
    assert_eq!(img.config.rootfs.diff_ids, vec![d1.clone()]);
    assert_eq!(img.config.history.len(), 1);
    assert_eq!(img.config.history[0].empty_layer, None);
    // A single layer's chain id is its diff id.
    assert!(store.snapshots().exists(&d1));
    assert_eq!(
        std::fs::read(store.snapshots().layer_fs(&d1).join("app/one.txt")).unwrap(),
        b"one"
    );
    let meta = store.snapshots().meta(&d1).unwrap();
    assert_eq!(meta.parent, None);
    assert_eq!(meta.diff_id, d1);

    // On top of it: the chain id of both, its parent the first.
    let t2 = tar_of(&[Entry::File("app/two.txt", b"two")]);
    let second = store
        .append_layer(
            Some(&first),
            &t2[..],
            env(&["X=y"]),
            step("COPY two.txt /app/", 11),
        )
        .expect("append on a parent");
    let img = store.get(&second).unwrap();
    let d2 = Digest::of(&t2);
    assert_eq!(img.config.rootfs.diff_ids, vec![d1.clone(), d2.clone()]);
    assert_eq!(img.manifest.layers.len(), 2);
    assert_eq!(img.manifest.layers[1].digest, d2);
    assert_eq!(img.config.history.len(), 2);
    let chains = chain_ids(&[d1.clone(), d2]);
    assert!(store.snapshots().exists(&chains[1]));
    assert_eq!(store.snapshots().meta(&chains[1]).unwrap().parent, Some(d1));
    assert_eq!(
        std::fs::read(store.snapshots().layer_fs(&chains[1]).join("app/two.txt")).unwrap(),
        b"two"
    );
    // The layer's bytes can be given back (for save and push).
    let mut back = Vec::new();
    std::io::copy(
        &mut store.layer_reader(&img.manifest.layers[1]).unwrap(),
        &mut back,
    )
    .unwrap();
    assert_eq!(back, t2);

    // On a loaded image.
    let base = Img::new(vec![data_layer("base", 3, 4096)], &["base:1"]);
    load_bytes(&store, &docker_archive(std::slice::from_ref(&base))).expect("load");
    let third = store
        .append_layer(Some(&base.id()), &t1[..], env(&[]), step("COPY", 12))
        .expect("append on a loaded image");
    let img = store.get(&third).unwrap();
    let chains = chain_ids(&img.config.rootfs.diff_ids);
    assert_eq!(chains.len(), 2);
    assert!(store
        .snapshots()
        .layer_fs(&chains[1])
        .join("app/one.txt")
        .is_file());

    // Not a tar: refused.
    let err = store
        .append_layer(None, &b"hello"[..], env(&[]), step("COPY", 13))
        .expect_err("not a tar");
    assert!(err.to_string().contains("not a tar"), "{err}");
}

/// Builds `FROM scratch`, `COPY`, `RUN` (writing `file` with mtime `mtime` in the build
/// container), `CMD` in `store`; returns the ids of the steps and the RUN layer's digest.
fn build_chain(store: &ImageStore, key: &str, mtime: SystemTime) -> (Vec<Digest>, Digest) {
    let base = store
        .derive_config(None, env(&["PATH=/bin"]), step("ENV PATH=/bin", 100))
        .expect("env");
    let tar = tar_of(&[Entry::File("hello.txt", b"hello")]);
    let copied = store
        .append_layer(
            Some(&base),
            &tar[..],
            env(&["PATH=/bin"]),
            step("COPY hello.txt /", 101),
        )
        .expect("copy");
    let rootfs = store.create_rootfs(key, &copied).expect("create");
    let f = rootfs.upper.join("made-by-run.txt");
    std::fs::write(&f, b"run output").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let ran = store
        .commit_rootfs_with(
            key,
            &copied,
            env(&["PATH=/bin"]),
            step("RUN /bin/sh -c make", 102),
            Some(1_000),
        )
        .expect("run");
    store.remove_rootfs(key).expect("remove rootfs");
    let run_layer = store
        .get(&ran)
        .unwrap()
        .config
        .rootfs
        .diff_ids
        .last()
        .unwrap()
        .clone();
    let cmd = ContainerConfig {
        cmd: Some(vec!["/bin/hello".into()]),
        ..env(&["PATH=/bin"])
    };
    let last = store
        .derive_config(Some(&ran), cmd, step("CMD [\"/bin/hello\"]", 103))
        .expect("cmd");
    (vec![base, copied, ran, last], run_layer)
}

#[test]
fn commit_rootfs_with_clamps_mtimes_and_records_the_build_step() {
    require_root!();
    let (_t1, s1) = temp_store();
    let (_t2, s2) = temp_store();
    let a = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let b = SystemTime::UNIX_EPOCH + Duration::from_secs(1_650_000_000);
    let (ids1, layer1) = build_chain(&s1, "b1", a);
    let (_, layer2) = build_chain(&s2, "b1", b);
    assert_eq!(
        layer1, layer2,
        "mtimes clamped to the epoch: the same layer"
    );

    let ran = s1.get(&ids1[2]).unwrap();
    let last = ran.config.history.last().unwrap();
    assert_eq!(last.created_by.as_deref(), Some("RUN /bin/sh -c make"));
    assert_eq!(last.empty_layer, None);
    assert_eq!(ran.config.rootfs.diff_ids.len(), 2);
    assert_eq!(ran.created_unix(), 102);
    assert!(s1
        .snapshots()
        .layer_fs(chain_ids(&ran.config.rootfs.diff_ids).last().unwrap())
        .join("made-by-run.txt")
        .is_file());

    // Without an epoch the mtime shows.
    let r1 = s1.create_rootfs("c2", &ids1[1]).unwrap();
    std::fs::write(r1.upper.join("made-by-run.txt"), b"run output").unwrap();
    let unclamped = s1
        .commit_rootfs_with("c2", &ids1[1], env(&[]), step("RUN", 1), None)
        .unwrap();
    assert_ne!(
        s1.get(&unclamped)
            .unwrap()
            .config
            .rootfs
            .diff_ids
            .last()
            .unwrap(),
        &layer1
    );
    // A parent other than the container's image is refused.
    let err = s1
        .commit_rootfs_with("c2", &ids1[0], env(&[]), step("RUN", 1), None)
        .expect_err("wrong parent");
    assert!(err.to_string().contains("not from"), "{err}");
    s1.remove_rootfs("c2").unwrap();
}

#[test]
fn the_same_build_twice_gives_the_same_image_ids() {
    require_root!();
    let (_t1, s1) = temp_store();
    let (_t2, s2) = temp_store();
    // Different wall-clock mtimes in the two build containers (written now, a moment apart).
    let (ids1, _) = build_chain(&s1, "b", SystemTime::now());
    std::thread::sleep(Duration::from_millis(1100));
    let (ids2, _) = build_chain(&s2, "b", SystemTime::now());
    assert_eq!(ids1, ids2, "every step's id is reproducible");
    // And in the same store again: the same ids, nothing new.
    let before = ids(&s1).len();
    let (again, _) = build_chain(&s1, "b", SystemTime::now());
    assert_eq!(again, ids1);
    assert_eq!(ids(&s1).len(), before);
}

#[test]
fn build_images_survive_auto_gc_while_leased_and_prune_as_cache() {
    require_root!();
    let (_tmp, store) = temp_store();
    let stray = Img::new(vec![data_layer("stray", 9, 4096)], &[]);
    load_bytes(&store, &docker_archive(std::slice::from_ref(&stray))).expect("load");
    // Evict everything evictable after every step.
    store
        .set_policy(&GcPolicy {
            max_bytes: 1,
            min_free_percent: 0,
            include_tagged: false,
        })
        .unwrap();

    let lease = store.build_lease().expect("lease");
    let s = lease.store();
    let a = s
        .derive_config(None, env(&["A=1"]), step("ENV A=1", 1))
        .unwrap();
    let t = tar_of(&[Entry::File("f", b"data")]);
    let b = s
        .append_layer(Some(&a), &t[..], env(&["A=1"]), step("COPY f /", 2))
        .unwrap();
    let c = s
        .derive_config(Some(&b), env(&["A=2"]), step("ENV A=2", 3))
        .unwrap();
    let now = ids(&store);
    assert!(
        !now.contains(&stray.id()),
        "the policy ran and evicted the stray dangling image"
    );
    for id in [&a, &b, &c] {
        assert!(
            now.contains(id),
            "the leased {id} survived the automatic policy"
        );
    }
    assert_eq!(lease.ids().len(), 3);

    // Another handle (or process) sees the lease: prune and enforce keep them.
    let other = ImageStore::open(store.root()).unwrap();
    other.prune(&PruneOptions::default()).unwrap();
    other
        .prune(&PruneOptions {
            all: true,
            ..PruneOptions::default()
        })
        .unwrap();
    other.enforce(&other.policy().unwrap()).unwrap();
    assert_eq!(ids(&store).len(), 3);

    // The build ends keeping two of them as cache; the third is an ordinary dangling image.
    store.keep_as_cache(&[a.clone(), b.clone()]).unwrap();
    drop(lease);
    assert!(
        std::fs::read_dir(store.root().join("builds"))
            .unwrap()
            .next()
            .is_none(),
        "the lease's files went with it"
    );
    store.prune(&PruneOptions::default()).unwrap();
    let now = ids(&store);
    assert!(
        now.contains(&a) && now.contains(&b) && !now.contains(&c),
        "{now:?}"
    );
    assert_eq!(store.build_cache().unwrap(), {
        let mut v = vec![a.clone(), b.clone()];
        v.sort();
        v
    });
    // Their layer is still whole.
    let img = store.get(&b).unwrap();
    assert!(store.has_layer(&img.manifest.layers[0]).unwrap());

    // `builder prune`: clear the index, then prune.
    let cleared = store.clear_build_cache().unwrap();
    assert_eq!(cleared.len(), 2);
    store.prune(&PruneOptions::default()).unwrap();
    assert!(ids(&store).is_empty());
    assert!(store.build_cache().unwrap().is_empty());
}

#[test]
fn the_automatic_policy_evicts_the_build_cache_last() {
    require_root!();
    let (_tmp, store) = temp_store();
    let cached = store
        .derive_config(None, env(&["A=1"]), step("ENV A=1", 1))
        .unwrap();
    store.keep_as_cache(std::slice::from_ref(&cached)).unwrap();
    let plain = store
        .derive_config(None, env(&["B=1"]), step("ENV B=1", 2))
        .unwrap();
    let lease = store.build_lease().unwrap();
    let building = lease
        .store()
        .derive_config(None, env(&["C=1"]), step("ENV C=1", 3))
        .unwrap();
    // A policy that is always over its limit: everything it may evict goes, in its order.
    let policy = berth_image::GcPolicy {
        max_bytes: 0,
        ..store.policy().unwrap()
    };
    let report = store.enforce(&policy).unwrap();
    let deleted: Vec<String> = report
        .events
        .iter()
        .filter_map(|e| match e {
            berth_image::RemoveEvent::Deleted(d) if *d == cached || *d == plain => {
                Some(d.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        deleted,
        [plain.to_string(), cached.to_string()],
        "cache evicted last"
    );
    assert_eq!(
        ids(&store),
        vec![building.clone()],
        "a live build's image stays"
    );
    drop(lease);
}

#[test]
fn a_whole_lease_becomes_cache_and_a_dead_one_protects_nothing() {
    require_root!();
    let (_tmp, store) = temp_store();
    let lease = store.build_lease().unwrap();
    let a = lease
        .store()
        .derive_config(None, env(&[]), step("ENV", 1))
        .unwrap();
    // Made through the plain handle, then protected explicitly.
    let b = store
        .derive_config(Some(&a), env(&["B=1"]), step("ENV B=1", 2))
        .unwrap();
    lease.protect(&b).unwrap();
    let kept = lease.keep_as_cache().unwrap();
    assert_eq!(kept.len(), 2);
    store.prune(&PruneOptions::default()).unwrap();
    assert_eq!(ids(&store).len(), 2);

    // A lease file whose lock nobody holds (its builder died) is ignored and swept.
    store.clear_build_cache().unwrap();
    let builds = store.root().join("builds");
    std::fs::write(
        builds.join("999999-0.json"),
        serde_json::to_vec(&[a.to_string()]).unwrap(),
    )
    .unwrap();
    std::fs::write(builds.join("999999-0.lock"), b"").unwrap();
    store.prune(&PruneOptions::default()).unwrap();
    assert!(ids(&store).is_empty());
    assert!(!builds.join("999999-0.json").exists());
    assert!(!builds.join("999999-0.lock").exists());
}
