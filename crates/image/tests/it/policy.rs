//! The automatic collection policy: applied after every load, sparing what was just loaded,
//! evicting dangling images no container uses, least recently used first.

use berth_image::{GcPolicy, ImageStore};
use berth_testutil::require_root;

use crate::common::{data_layer, docker_archive, du, load_bytes, temp_store, Img};

const MIB: usize = 1 << 20;

#[test]
fn the_default_policy_keeps_free_space_and_is_stored() {
    require_root!();
    let (tmp, _) = temp_store();
    let fresh = ImageStore::open(tmp.path().join("fresh")).expect("open");
    assert_eq!(fresh.policy().expect("policy"), GcPolicy::default());
    assert_eq!(GcPolicy::default().min_free_percent, 10);
    let p = GcPolicy {
        max_bytes: 123 << 20,
        min_free_percent: 5,
        include_tagged: true,
    };
    fresh.set_policy(&p).expect("set");
    assert_eq!(
        ImageStore::open(tmp.path().join("fresh"))
            .unwrap()
            .policy()
            .unwrap(),
        p
    );
}

#[test]
fn loads_evict_old_dangling_images_past_the_limit_but_never_what_they_load() {
    require_root!();
    let (_tmp, store) = temp_store();
    let old = Img::new(vec![data_layer("old", 1, 2 * MIB)], &[]);
    let tagged = Img::new(vec![data_layer("tagged", 2, 2 * MIB)], &["keep/me:1"]);
    load_bytes(&store, &docker_archive(&[old.clone(), tagged.clone()])).expect("load");
    let with_two = du(store.root());
    // Room for about one more 2 MiB image.
    store
        .set_policy(&GcPolicy {
            max_bytes: with_two + MIB as u64,
            min_free_percent: 0,
            include_tagged: false,
        })
        .expect("policy");
    let new = Img::new(vec![data_layer("new", 3, 2 * MIB)], &[]);
    load_bytes(&store, &docker_archive(std::slice::from_ref(&new))).expect("load new");
    let ids: Vec<_> = store
        .list()
        .unwrap()
        .iter()
        .map(|i| i.id().clone())
        .collect();
    assert!(
        !ids.contains(&old.id()),
        "the old dangling image was evicted: {ids:?}"
    );
    assert!(
        ids.contains(&tagged.id()),
        "tagged images stay without include_tagged"
    );
    assert!(
        ids.contains(&new.id()),
        "a load never evicts what it loaded"
    );
    assert!(du(store.root()) <= with_two + MIB as u64);

    // Still over the limit with nothing evictable: the load succeeds, nothing else goes.
    let another = Img::new(vec![data_layer("another", 4, 3 * MIB)], &[]);
    load_bytes(&store, &docker_archive(std::slice::from_ref(&another))).expect("load another");
    let ids: Vec<_> = store
        .list()
        .unwrap()
        .iter()
        .map(|i| i.id().clone())
        .collect();
    assert!(ids.contains(&another.id()) && ids.contains(&tagged.id()));
    assert!(
        !ids.contains(&new.id()),
        "the older dangling one went first"
    );
}
