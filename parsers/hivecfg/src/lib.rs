//! Facts from registry hives for the boot chain (no rules, no printing).
//!
//! - [`hive_type`]: SYSTEM / SOFTWARE / SAM / ... judged by content.
//! - [`system_config`]: `Select` and every control set's Session Manager configuration
//!   (BootExecute & co, SubSystems with csrss's parsed command line, KnownDLLs,
//!   PendingFileRenameOperations as (source, destination, operation), AppCertDlls) and the
//!   differences between control sets.
//! - [`software_config`]: Image File Execution Options and SilentProcessExit entries, native and
//!   Wow6432Node.
//! - [`dump`]: rows for any subtree.
//! - Execution evidence as [`ExecutionEntry`]s: [`amcache`] (Amcache.hve, both layouts),
//!   [`shimcache`] (AppCompatCache of every control set, XP to 11), [`bam`] (BAM/DAM per user).
#![forbid(unsafe_code)]

mod csrss;
mod dump;
mod error;
mod hive_type;
mod keyvalues;
mod pending;
mod software;
mod system;
mod value;

pub use csrss::{parse_csrss_command_line, CsrssCommandLine, ServerDll};
pub use dump::{dump, Dump, DumpRow};
pub use error::{HiveCfgError, Result};
pub use hive_type::{hive_type, HiveType};
pub use pending::{parse_pending_renames, PendingRename, RenameOperation};
pub use software::{
    software_config, IfeoEntry, SilentProcessExitEntry, SoftwareConfig, IFEO_PATH,
    SILENT_PROCESS_EXIT_PATH,
};
pub use system::{
    system_config, AppCertDlls, Difference, KnownDlls, PendingRenames, Select,
    SessionManagerConfig, Subsystems, SystemConfig,
};
pub use value::{Data, RegValue};

mod amcache;
mod bam;
mod shimcache;
pub use amcache::{amcache, hive_is_amcache};
pub use bam::{bam, ExecutionEntry, ExecutionFacts};
pub use shimcache::{parse_appcompatcache, shimcache};
