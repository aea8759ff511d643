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
    ]
}

/// Writes the first content of a new site (the guide's questions); a site that has any keeps
/// its own.
pub async fn prepare(store: &dcert_store::MinistryStore) -> Result<(), dcert_store::StoreError> {
    store.seed_faq(&guide_faq(), crate::http::now().unix()).await?;
    Ok(())
}
