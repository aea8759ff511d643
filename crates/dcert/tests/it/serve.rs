//! `dcert serve` as an operator runs it: keys from the CLI, a configuration file with an
//! environment override, accounts and graduates added by commands while it runs, both sites up.

use std::path::Path;
use std::process::Output;

use dcert_testkit::free_port;

use crate::process::{Dir, add_staff, http, serve};

/// Runs `dcert`, which must succeed.
fn dcert(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let out = crate::process::dcert(dir, args, stdin);
    assert!(
        out.status.success(),
        "dcert {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A GET of `path` on `port`: the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = http(port, "GET", path, &[], b"");
    (status, String::from_utf8(body).unwrap())
}

#[test]
fn serve_runs_both_sites_from_a_configuration_file_with_environment_overrides() {
    let dir = Dir::new("serve");
    let d = &dir.0;
    dcert(d, &["keys", "init-root", "--registry", "http://localhost:8081", "--out", "moe"], "");
    dcert(
        d,
        &[
            "keys",
            "new-issuer",
            "--root",
            "moe",
            "--id",
            "nkust",
            "--name-zh",
            "國立高雄科技大學",
            "--name-en",
            "National Kaohsiung University of Science and Technology",
            "--out",
            "nkust",
        ],
        "",
    );
    dcert(d, &["trust", "export", "--root", "moe", "--issuer", "nkust", "--out", "trust.json"], "");
    let (university, ministry) = (free_port(), free_port());
    let example = include_str!("../../../../examples/dcert.toml")
        .replace("dcert-data/keys/", "")
        .replace("dcert-data/", "")
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{ministry}"));
    std::fs::write(d.join("dcert.toml"), example).unwrap();

    // The file says 8080; the environment moves the university to a free port.
    let env =
        [("DCERT_SERVER__LISTEN", format!("127.0.0.1:{university}")), ("DCERT_WORKER__INTERVAL_SECONDS", "1".into())];
    let _server = serve(d, &["serve", "--config", "dcert.toml"], &env, university);
    let (status, body) = get(ministry, "/healthz");
    assert!(status == 200 && body == "ok\n", "{status} {body}");
    let (status, trust) = get(ministry, "/trust.json");
    assert_eq!(status, 200);
    assert_eq!(trust.as_bytes(), std::fs::read(d.join("trust.json")).unwrap(), "the trust list as exported");

    // Operators add accounts and graduates while it runs.
    let out = add_staff(d, &["staff", "add", "--config", "dcert.toml"], "registrar", "註冊組", "registrar");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let roster = "student_number,term,campus,name_zh,name_en,birth_date,college_zh,college_en,department_zh,\
                  department_en,degree_level,degree_zh,degree_en,graduation_date,diploma_number\n\
                  C110152301,113-2,建工,王小明,\"WANG, HSIAO-MING\",2002-03-14,電資學院,College of EECS,\
                  電子工程系,Department of Electronic Engineering,bachelor,工學學士,Bachelor of Science in Engineering,\
                  2025-06-30,D1\n";
    std::fs::write(d.join("class.csv"), roster).unwrap();
    let out = dcert(d, &["import", "graduates", "--config", "dcert.toml", "--campus", "建工", "class.csv"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
    dcert(
        d,
        &["graduates", "set-password", "--config", "dcert.toml"],
        "student_number,password\nC110152301,graduate-password\n",
    );
    let (status, page) = get(university, "/contact");
    assert_eq!(status, 200);
    assert!(page.contains("建工校區") && page.contains("51103"), "the campuses of the configuration");
    let (status, _) = get(university, "/console");
    assert_eq!(status, 303, "the console asks for a login");
}
