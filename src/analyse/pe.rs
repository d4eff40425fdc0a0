use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::InputReport;

pub fn analyse(
    _ev: &Evidence,
    _opts: &Options,
    _report: &mut InputReport,
) -> anyhow::Result<Vec<String>> {
    anyhow::bail!("pe analyser not built yet")
}
