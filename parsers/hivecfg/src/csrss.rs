//! The SubSystems `Windows` value: csrss's command line and its ServerDll switches.
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsrssCommandLine {
    /// First token, e.g. `%SystemRoot%\system32\csrss.exe`.
    pub executable: String,
    /// Every `Name=Value` switch in order (a token without `=` has an empty value).
    pub switches: Vec<(String, String)>,
    pub server_dlls: Vec<ServerDll>,
}

/// `ServerDll=winsrv:UserServerDllInitialization,3` → name `winsrv`, entry point, index 3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerDll {
    pub name: String,
    pub entry_point: Option<String>,
    /// `None` when the part after the comma is missing or not a number.
    pub index: Option<u32>,
    pub raw: String,
}

/// Splits on whitespace; a quoted executable path (`"C:\a b\csrss.exe" ...`) stays one token.
pub fn parse_csrss_command_line(line: &str) -> CsrssCommandLine {
    let line = line.trim();
    let (executable, rest) = if let Some(stripped) = line.strip_prefix('"') {
        match stripped.split_once('"') {
            Some((exe, rest)) => (exe.to_string(), rest),
            None => (stripped.to_string(), ""),
        }
    } else {
        match line.split_once(char::is_whitespace) {
            Some((exe, rest)) => (exe.to_string(), rest),
            None => (line.to_string(), ""),
        }
    };
    let switches: Vec<(String, String)> = rest
        .split_whitespace()
        .map(|t| match t.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t.to_string(), String::new()),
        })
        .collect();
    let server_dlls = switches
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("ServerDll"))
        .map(|(_, v)| parse_server_dll(v))
        .collect();
    CsrssCommandLine {
        executable,
        switches,
        server_dlls,
    }
}

fn parse_server_dll(v: &str) -> ServerDll {
    let (dll, index) = match v.rsplit_once(',') {
        Some((d, i)) => (d, i.trim().parse().ok()),
        None => (v, None),
    };
    let (name, entry_point) = match entry_colon(dll) {
        Some(at) => (dll[..at].to_string(), Some(dll[at + 1..].to_string())),
        None => (dll.to_string(), None),
    };
    ServerDll {
        name,
        entry_point,
        index,
        raw: v.to_string(),
    }
}

/// The colon that starts the entry point: not the one of a drive letter (`C:\`,
/// `\\?\C:\`), since a ServerDll may be given as a full path.
fn entry_colon(dll: &str) -> Option<usize> {
    let b = dll.as_bytes();
    (0..b.len()).find(|&i| {
        if b[i] != b':' {
            return false;
        }
        let drive = i >= 1
            && b[i - 1].is_ascii_alphabetic()
            && (i == 1 || matches!(b[i - 2], b'\\' | b'/'))
            && matches!(b.get(i + 1), Some(b'\\' | b'/'));
        !drive
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_the_windows_7_line() {
        let c = parse_csrss_command_line(
            r"%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,12288,512 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=winsrv:ConServerDllInitialization,2 ServerDll=sxssrv,4 ProfileControl=Off MaxRequestThreads=16",
        );
        assert_eq!(c.executable, r"%SystemRoot%\system32\csrss.exe");
        assert_eq!(c.switches.len(), 10);
        let dlls: Vec<(&str, Option<u32>)> = c
            .server_dlls
            .iter()
            .map(|d| (d.name.as_str(), d.index))
            .collect();
        assert_eq!(
            dlls,
            [
                ("basesrv", Some(1)),
                ("winsrv", Some(3)),
                ("winsrv", Some(2)),
                ("sxssrv", Some(4))
            ]
        );
        assert_eq!(
            c.server_dlls[1].entry_point.as_deref(),
            Some("UserServerDllInitialization")
        );
    }
    #[test]
    fn quoted_executable_and_odd_dll() {
        let c = parse_csrss_command_line(
            r#""C:\Temp Dir\csrss.exe" ServerDll=evil ServerDll=x,notanumber"#,
        );
        assert_eq!(c.executable, r"C:\Temp Dir\csrss.exe");
        assert_eq!(
            c.server_dlls[0],
            ServerDll {
                name: "evil".into(),
                entry_point: None,
                index: None,
                raw: "evil".into()
            }
        );
        assert_eq!(c.server_dlls[1].index, None);
        assert!(parse_csrss_command_line("").executable.is_empty());
    }
    #[test]
    fn server_dll_with_a_drive_letter_path() {
        let c = parse_csrss_command_line(
            r"csrss.exe ServerDll=C:\ProgramData\x\evsrv,5 ServerDll=D:\x\y.dll:Init,6 ServerDll=\\?\C:\z\w,7 ServerDll=winsrv:Con,2",
        );
        let got: Vec<(&str, Option<&str>, Option<u32>)> = c
            .server_dlls
            .iter()
            .map(|d| (d.name.as_str(), d.entry_point.as_deref(), d.index))
            .collect();
        assert_eq!(
            got,
            [
                (r"C:\ProgramData\x\evsrv", None, Some(5)),
                (r"D:\x\y.dll", Some("Init"), Some(6)),
                (r"\\?\C:\z\w", None, Some(7)),
                ("winsrv", Some("Con"), Some(2)),
            ]
        );
    }
}
