//! The simulator's own behaviour.

use super::contents::SECTOR_BYTES;
use super::*;

fn root() -> (SimStorage, PathBuf) {
    (SimStorage::new(Path::new("/r")), PathBuf::from("/r"))
}

fn contents(sim: &SimStorage, path: &Path) -> Option<Vec<u8>> {
    sim.exists(path).then(|| sim.read_file(path).unwrap())
}

#[test]
fn synced_data_survives_and_unsynced_data_may_not() {
    let (sim, root) = root();
    let path = root.join("f");
    let file = sim.open(&path, OpenMode::Create).unwrap();
    sim.sync_dir(&root).unwrap();
    file.write_at(&[b"durable"], 0).unwrap();
    file.sync_data().unwrap();
    file.write_at(&[b"+volatile"], 7).unwrap();
    assert_eq!(
        contents(&sim.after_power_loss(PowerLoss::DropAll, 1), &path).unwrap(),
        b"durable"
    );
    assert_eq!(
        contents(&sim.after_power_loss(PowerLoss::KeepAll, 1), &path).unwrap(),
        b"durable+volatile"
    );
    for how in PowerLoss::ALL {
        for seed in 0..20 {
            let after = contents(&sim.after_power_loss(how, seed), &path).unwrap();
            assert!(after.starts_with(b"durable"), "{how:?} {seed}: {after:?}");
            assert!(after.len() <= 16, "{how:?} {seed}");
        }
    }
}

#[test]
fn directory_operations_need_a_directory_sync() {
    let (sim, root) = root();
    let (tmp, fin) = (root.join("a.tmp"), root.join("a"));
    let file = sim.open(&tmp, OpenMode::Create).unwrap();
    file.write_at(&[b"x"], 0).unwrap();
    file.sync_data().unwrap();
    sim.rename(&tmp, &fin).unwrap();
    let dropped = sim.after_power_loss(PowerLoss::DropDirOps, 1);
    assert!(
        !dropped.exists(&fin) && !dropped.exists(&tmp),
        "never named durably"
    );
    let kept = sim.after_power_loss(PowerLoss::KeepDirOpsOnly, 1);
    assert_eq!(contents(&kept, &fin).unwrap(), b"x");
    sim.sync_dir(&root).unwrap();
    for how in PowerLoss::ALL {
        let after = sim.after_power_loss(how, 7);
        assert_eq!(contents(&after, &fin).unwrap(), b"x", "{how:?}");
        assert!(!after.exists(&tmp));
    }
}

#[test]
fn torn_pages_mix_old_and_new_at_sector_boundaries() {
    let (sim, root) = root();
    let path = root.join("f");
    let file = sim.open(&path, OpenMode::Create).unwrap();
    sim.sync_dir(&root).unwrap();
    file.write_at(&[&[1u8; SIM_PAGE_BYTES]], 0).unwrap();
    file.sync_data().unwrap();
    file.write_at(&[&[2u8; SIM_PAGE_BYTES]], 0).unwrap();
    let mut torn = 0;
    for seed in 0..200 {
        let after = contents(&sim.after_power_loss(PowerLoss::TornSectors, seed), &path).unwrap();
        let new = after.iter().take_while(|&&b| b == 2).count();
        assert!(after[new..].iter().all(|&b| b == 1), "new bytes, then old");
        assert_eq!(new % SECTOR_BYTES, 0, "cut at a sector boundary");
        torn += usize::from(new > 0 && new < SIM_PAGE_BYTES);
    }
    assert!(torn > 0, "some pages were torn");
}

#[test]
fn a_power_cut_fails_that_operation_and_every_later_one() {
    let (sim, root) = root();
    let file = sim.open(&root.join("f"), OpenMode::Create).unwrap();
    sim.set_plan(FaultPlan {
        power_cut_at: Some(2),
        fail: None,
    });
    file.write_at(&[b"one"], 0).unwrap();
    assert!(file.write_at(&[b"two"], 3).is_err());
    assert!(sim.is_powered_off());
    assert!(file.sync_data().is_err());
    assert!(file.len().is_err());
    assert_eq!(sim.operations(), 2, "nothing counted after the cut");
}

#[test]
fn injected_failures_hit_the_nth_operation_of_their_kind() {
    let (sim, root) = root();
    let file = sim.open(&root.join("f"), OpenMode::Create).unwrap();
    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Allocate, 2, SimFailure::NoSpace)),
    });
    file.allocate(10).unwrap();
    let err = file.allocate(20).unwrap_err();
    assert!(err.to_string().contains("No space"), "{err}");
    assert_eq!(file.len().unwrap(), 10, "nothing changed");
    file.allocate(20).unwrap();

    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Write, 1, SimFailure::ShortWrite)),
    });
    assert!(file.write_at(&[b"abcd"], 0).is_err());
    let mut two = [0u8; 4];
    file.read_at(&mut two, 0).unwrap();
    assert_eq!(&two, b"ab\0\0", "half written");

    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Sync, 1, SimFailure::SyncDropsPages)),
    });
    sim.sync_dir(&root).unwrap();
    assert!(file.sync_data().is_err());
    let after = sim.after_power_loss(PowerLoss::KeepAll, 1);
    assert!(
        contents(&after, &root.join("f"))
            .unwrap()
            .iter()
            .all(|&b| b == 0),
        "the dropped pages are gone after a power cut"
    );
}

#[test]
fn a_mapping_sees_later_writes() {
    let (sim, root) = root();
    let file = sim.open(&root.join("f"), OpenMode::Create).unwrap();
    let map = file.map(64).unwrap();
    file.write_at(&[b"hello"], 0).unwrap();
    // SAFETY: five bytes were written; the mapping covers 64.
    #[allow(unsafe_code)]
    let seen = unsafe { std::slice::from_raw_parts(map.ptr, 5) };
    assert_eq!(seen, b"hello");
}

#[test]
fn a_rename_between_directories_survives_on_both_sides_or_neither() {
    let (sim, top) = root();
    let (from_dir, to_dir) = (top.join("from"), top.join("to"));
    sim.create_dir_all_durable(&from_dir).unwrap();
    sim.create_dir_all_durable(&to_dir).unwrap();
    let (from, to) = (from_dir.join("f"), to_dir.join("f"));
    let file = sim.open(&from, OpenMode::Create).unwrap();
    file.write_at(&[b"x"], 0).unwrap();
    file.sync_data().unwrap();
    sim.sync_dir(&from_dir).unwrap();
    // Another unsynced change in each directory, so that their prefixes differ.
    sim.open(&from_dir.join("other"), OpenMode::Create).unwrap();
    sim.rename(&from, &to).unwrap();
    sim.open(&to_dir.join("other"), OpenMode::Create).unwrap();
    let mut seen = BTreeSet::new();
    for how in PowerLoss::ALL {
        for seed in 0..40 {
            let after = sim.after_power_loss(how, seed);
            let (old, new) = (after.exists(&from), after.exists(&to));
            assert!(old != new, "{how:?} {seed}: old {old}, new {new}");
            seen.insert(new);
        }
    }
    assert_eq!(seen.len(), 2, "both outcomes happen");
    // A sync of either side commits the whole rename.
    for synced in ["from", "to"] {
        let (sim, top) = root();
        let (from, to) = (top.join("from/f"), top.join("to/f"));
        sim.create_dir_all_durable(&top.join("from")).unwrap();
        sim.create_dir_all_durable(&top.join("to")).unwrap();
        sim.open(&from, OpenMode::Create).unwrap();
        sim.sync_dir(&top.join("from")).unwrap();
        sim.rename(&from, &to).unwrap();
        sim.sync_dir(&top.join(synced)).unwrap();
        let after = sim.after_power_loss(PowerLoss::DropAll, 0);
        assert!(
            !after.exists(&from) && after.exists(&to),
            "sync of {synced}"
        );
    }
}

#[test]
fn committing_a_rename_commits_the_earlier_operations_of_its_other_directory() {
    let (sim, top) = root();
    let (a, b) = (top.join("a"), top.join("b"));
    sim.create_dir_all_durable(&a).unwrap();
    sim.create_dir_all_durable(&b).unwrap();
    let old = sim.open(&b.join("f"), OpenMode::Create).unwrap();
    old.write_at(&[b"old"], 0).unwrap();
    old.sync_data().unwrap();
    sim.sync_dir(&b).unwrap();
    let new = sim.open(&a.join("f"), OpenMode::Create).unwrap();
    new.write_at(&[b"new"], 0).unwrap();
    new.sync_data().unwrap();
    sim.sync_dir(&a).unwrap();
    // b: the old f goes, then the new one arrives from a; only a is synced.
    sim.remove_file(&b.join("f")).unwrap();
    sim.rename(&a.join("f"), &b.join("f")).unwrap();
    sim.sync_dir(&a).unwrap();
    for how in PowerLoss::ALL {
        for seed in 0..20 {
            let after = sim.after_power_loss(how, seed);
            assert!(!after.exists(&a.join("f")), "{how:?} {seed}");
            assert_eq!(
                contents(&after, &b.join("f")).as_deref(),
                Some(&b"new"[..]),
                "{how:?} {seed}"
            );
        }
    }
}
