//! The site's first content: the guide's questions about verification, written to the FAQ on
//! the first start (the Ministry's administrators edit them from then on).

use dcert_store::FaqItem;

/// The guide's questions that concern verification (Q2–Q5), in Chinese and English.
pub fn guide_faq() -> Vec<FaqItem> {
    let q = |position: i64, question_zh: &str, question_en: &str, answer_zh: &str, answer_en: &str| FaqItem {
        id: 0,
        position,
        question_zh: question_zh.into(),
        question_en: question_en.into(),
        answer_zh: answer_zh.into(),
        answer_en: answer_en.into(),
    };
    vec![
        q(
            1,
            "如何確保數位證書的真偽性？",
            "How can I be sure a digital certificate is genuine?",
            "本證書由教育部大專院校數位證書建置計畫合作辦理，證書真偽性可至「教育部驗證網站」進行查核：於「證書驗證」上傳證書檔案即可。",
            "Certificates are issued under the Ministry of Education's digital certificate programme for universities. Check any certificate on this site: upload the file under Verify.",
        ),
        q(
            2,
            "如何下載數位證書？",
            "How should I download a digital certificate?",
            "請以「下載附件」的方式下載數位證書，而非以「列印→另存新檔」方式，此方式會導致證書檔案二進位碼被修改，驗證將不會通過。",
            "Download the certificate as an attachment (Download / Save attachment), not by printing it to a PDF: printing rewrites the file's bytes and the verification fails.",
        ),
        q(
            3,
            "出現「驗證失敗」該如何處理？",
            "What should I do when verification fails?",
            "請重新下載數位證書驗證（不要以列印後儲存方式下載，將導致證書編碼調整，系統將判定為證書有竄改可能導致失敗）。結果頁會說明失敗的原因。",
            "Download the certificate again and verify that file (do not print it to PDF: that changes the file and the service reports it as modified). The result page says why the verification failed.",
        ),
        q(
            4,
            "為什麼驗證出現「驗證警告」？",
            "Why does verification show a warning?",
            "如有申請「補證」情形，原數位證書將會判定已有新版本，因此出現驗證警告之情形。請使用最新版本證書進行驗證，應可得到成功之結果。",
            "When a certificate has been reissued (補證), the earlier file has a newer version, so it shows a warning. Verify the latest version; it should succeed.",
        ),
        q(
            5,
            "上傳的證書檔案會被保存嗎？",
            "Is the uploaded certificate file kept?",
            "不會。檔案只在驗證時讀取，驗證後即捨棄；系統只記錄檔案的雜湊值、驗證結果與時間作為統計。",
            "No. The file is read for the verification and then dropped; only its hash, the outcome and the time are recorded, for statistics.",
        ),
        // Employers' and other verifiers' questions.
        q(
            6,
            "（查驗單位）三種驗證結果各代表什麼？",
            "(For employers) What does each result mean?",
            "「認證成功」：檔案由學校簽署後未經修改，學校已向教育部登錄，且為最新、未撤銷的版本，可採信證書上的資料。「認證警告」：證書為真，但學校已核發較新的版本（補證），請向持有人索取最新版本。「認證失敗」：檔案經過修改、不是學校核發，或已被學校撤銷，不能作為證明；結果頁會說明原因與聯絡窗口。「無法驗證此檔案」：上傳的不是數位證書檔案（例如其他 PDF，或讀不到證書 QR Code 的照片），這不代表學位是假的。",
            "Verified: the file is unchanged since the institution signed it, registered with the Ministry, the latest version and not revoked; you can rely on its data. Warning: the certificate is authentic but the institution issued a newer version (a reissue); ask the holder for it. Not verified: the file was changed, was not issued by an institution, or was revoked; it proves nothing, and the result page says why and whom to ask. Cannot be verified: the upload is not a certificate file (another PDF, or a photo in which no certificate QR code could be read); that does not mean the degree is false.",
        ),
        q(
            7,
            "（查驗單位）應徵者交來紙本或照片，可以驗證嗎？",
            "(For employers) Can I verify a printout or a photo?",
            "可以確認紙本上的資料：用手機掃描證書左下角的 QR Code（或在本網站的「掃描紙本證書的 QR Code」頁用相機掃描，也可上傳照片、掃描檔或截圖），網站會顯示經發證單位簽署的主要資料與證書目前的狀態，請與紙本逐項核對。這證明的是資料，不是紙本本身；數位簽章只存在於原始檔案中，要確認檔案未被修改，請向應徵者索取學校以電子郵件寄送的 PDF 原始附件（應徵者也可在學校離校系統下載）。",
            "You can confirm the data on the printout: scan the QR code at the certificate's lower left with a phone (or use the camera on this site's \"Scan a printed certificate's QR code\" page, or upload a photo, scan or screenshot): the site shows the main data signed by the institution and the certificate's status now; compare them with the paper line by line. That vouches for the data, not for the paper itself: the digital signature exists only in the original file, so to know a file is unmodified, ask the applicant for the original PDF attachment the institution emailed (graduates can also download it from the institution's portal).",
        ),
        q(
            8,
            "（查驗單位）認證成功就代表眼前的人是證書持有人嗎？",
            "(For employers) Does a verified certificate prove the person in front of me is its holder?",
            "不代表。驗證證明的是證書資料由學校核發且未被修改；請將證書上的姓名、生日與應徵者的身分證件核對。",
            "No. Verification proves that the certificate data was issued by the institution and not changed; compare the name and date of birth on it with the applicant's identity document.",
        ),
        q(
            9,
            "（查驗單位）結果有疑問時可以找誰？",
            "(For employers) Whom do I ask when in doubt?",
            "「認證警告」與「認證失敗」的結果頁會列出發證學校的承辦單位與電話；也可在「發證單位」頁查詢各校資料。本網站的問題請洽教育部。",
            "Warning and failure pages give the issuing institution's office and phone number; the Issuers page lists every institution. For questions about this site, contact the Ministry of Education.",
        ),
    ]
}

/// Writes the first content of a new site (the guide's questions); a site that has any keeps
/// its own.
pub async fn prepare(store: &dcert_store::MinistryStore) -> Result<(), dcert_store::StoreError> {
    store.seed_faq(&guide_faq(), crate::http::now().unix()).await?;
    Ok(())
}
