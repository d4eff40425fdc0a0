use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::InputReport;

pub fn analyse(
    _ev: &Evidence,
    _opts: &Options,
    _report: &mut InputReport,
) -> anyhow::Result<Vec<String>> {
    anyhow::bail!("mem analyser not built yet")
}

use crate::cli::Common;
use std::path::PathBuf;

pub fn info_command(_paths: &[PathBuf], _common: &Common, _opts: &Options) -> anyhow::Result<u8> {
    anyhow::bail!("mem info: not built yet")
}
pub fn tree_command(_paths: &[PathBuf], _common: &Common, _opts: &Options) -> anyhow::Result<u8> {
    anyhow::bail!("mem ps --tree: not built yet")
}
pub fn smss_command(_paths: &[PathBuf], _common: &Common, _opts: &Options) -> anyhow::Result<u8> {
    anyhow::bail!("mem smss: not built yet")
}
