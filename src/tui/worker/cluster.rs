//! The jobs screen's Slurm cluster panel: `sinfo --json` and `squeue --json` on a thread of
//! their own (never the read lane: a controller that does not answer holds a call for
//! seconds). No Slurm, or a controller that is down, is an answer the panel shows, not an
//! error to repeat every second.

use super::Shared;
use crate::jobs::slurm::sinfo::{self, Node};
use crate::jobs::slurm::squeue::{self, SlurmJob};
use crate::jobs::slurm::state::{self, Mapped};
use crate::jobs::slurm::{cli, SlurmError};
use crate::tui::jobs_msg::{ClusterView, JobsReply};
use crate::tui::msg::Reply;

/// lmdeck names its batch jobs `lmdeck-<name>` (see `slurm::script`): the rest are the user's
/// other jobs.
const OWN_PREFIX: &str = "lmdeck-";

pub(super) fn start(shared: &Shared, id: u64) {
    let lane = shared.clone();
    shared.threads.spawn("lmdeck-slurm-cluster", move || {
        let result = crate::tui::app::catch("reading the Slurm cluster", load);
        lane.send(Reply::Jobs(JobsReply::Cluster { id, result }));
    });
}

/// One read of the cluster.
pub fn load() -> Result<ClusterView, String> {
    if !cli::installed() {
        return Err("no Slurm: sbatch not found".into());
    }
    let nodes = sinfo::query().map_err(absent)?;
    let jobs = squeue::query().map_err(absent)?;
    Ok(view(nodes, jobs, current_user()))
}

/// The login name, as squeue reports `user_name`.
fn current_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
}

/// What the panel says for a failed read.
pub fn absent(e: SlurmError) -> String {
    match e {
        SlurmError::NotInstalled { program } => format!("no Slurm: {program} not found"),
        SlurmError::ControllerDown { message, .. } => format!("controller down: {message}"),
        other => other.to_string(),
    }
}

/// The panel's data: partitions summed from the nodes, and the user's jobs lmdeck did not
/// submit (every user's when the user is unknown), waiting and running ones before those that
/// ended (Slurm lists ended jobs for a few minutes; a short panel shows the live ones).
pub fn view(nodes: Vec<Node>, jobs: Vec<SlurmJob>, user: Option<String>) -> ClusterView {
    let mut others: Vec<SlurmJob> = jobs
        .into_iter()
        .filter(|j| !j.name.starts_with(OWN_PREFIX))
        .filter(|j| user.as_ref().is_none_or(|u| &j.user == u))
        .collect();
    others.sort_by_key(|j| matches!(state::map(j), Mapped::Ended { .. }));
    ClusterView {
        partitions: sinfo::partitions(&nodes),
        nodes,
        others,
        user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, name: &str, user: &str) -> SlurmJob {
        SlurmJob {
            job_id: id,
            name: name.into(),
            user: user.into(),
            state: "PENDING".into(),
            reason: "Resources".into(),
            ..SlurmJob::default()
        }
    }

    fn node() -> Node {
        Node {
            name: "n1".into(),
            state: "mixed".into(),
            partitions: vec!["gpu".into()],
            cpus_total: 8,
            cpus_alloc: 2,
            gpus_total: 2,
            gpus_used: 1,
        }
    }

    #[test]
    fn others_are_the_users_jobs_lmdeck_did_not_submit() {
        let jobs = vec![
            job(1, "lmdeck-train", "ana"),
            job(2, "notebook", "ana"),
            job(3, "notebook", "bob"),
        ];
        let v = view(vec![node()], jobs.clone(), Some("ana".into()));
        let ids: Vec<u64> = v.others.iter().map(|j| j.job_id).collect();
        assert_eq!(ids, [2]);
        assert_eq!(v.partitions.len(), 1);
        assert_eq!(v.partitions[0].gpus_free, 1);
        // The user unknown: every user's, still not lmdeck's own.
        let v = view(vec![node()], jobs, None);
        let ids: Vec<u64> = v.others.iter().map(|j| j.job_id).collect();
        assert_eq!(ids, [2, 3]);
    }

    #[test]
    fn live_jobs_come_before_ended_ones() {
        let mut done = job(1, "old", "ana");
        done.state = "COMPLETED".into();
        let mut waiting = job(3, "queued", "ana");
        waiting.state = "PENDING".into();
        let v = view(
            vec![node()],
            vec![done, job(2, "live", "ana"), waiting],
            None,
        );
        let ids: Vec<u64> = v.others.iter().map(|j| j.job_id).collect();
        assert_eq!(ids, [2, 3, 1]);
    }

    #[test]
    fn absent_slurm_reads_as_a_state() {
        let missing = absent(SlurmError::NotInstalled {
            program: "sinfo".into(),
        });
        assert_eq!(missing, "no Slurm: sinfo not found");
        let down = absent(SlurmError::ControllerDown {
            program: "sinfo".into(),
            message: "Unable to contact slurm controller (connect failure)".into(),
        });
        assert_eq!(
            down,
            "controller down: Unable to contact slurm controller (connect failure)"
        );
    }
}
