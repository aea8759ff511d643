//! News (最新消息) and FAQ (常見問題): list, edit, delete, in both languages.

use super::*;

// ----- news and FAQ -----

/// The site's news (最新消息, [`NewsItem`]) and its questions (常見問題, [`FaqItem`]): what sets
/// one apart from the other, so that one set of handlers serves both. Each kind's pages are
/// under `/console/{KIND}`: its list, `/new`, `/{id}` to change one and `/{id}/delete`.
pub(super) trait Content: ContentItem + 'static {
    /// The form of one, as typed.
    type Form: DeserializeOwned + Default + Send + Sync + 'static;
    /// Its name in paths (`/console/news`), the menu, and the audit log: the actions
    /// `news_add`, `news_edit` and `news_delete` on the target `news:{id}`.
    const KIND: &'static str;
    /// The question before deleting one.
    const DELETE_QUESTION: &'static str;
    /// The labels of its four texts, as [`Problems::texts`] checks them.
    const LABELS: [&'static str; 4];

    /// All of them, as the console lists them.
    fn all(store: &MinistryStore) -> impl Future<Output = Result<Vec<Self>, AppError>> + Send;
    /// The form of a new one.
    fn blank(store: &MinistryStore) -> impl Future<Output = Result<Self::Form, AppError>> + Send;
    /// The form holding this one.
    fn form(self) -> Self::Form;
    /// The one `form` describes, with `id`, noting in `p` what is wrong with it.
    fn parse(form: &Self::Form, p: &mut Problems, id: i64) -> Option<Self>;
    /// What the audit log notes of it besides its id.
    fn detail(&self) -> String;
    /// How the confirmation before deleting names it.
    fn describe(&self, t: Texts) -> String;
    /// The page listing `items`.
    fn list_page(c: Chrome, items: Vec<Self>, notice: Option<&'static str>) -> ContentPage;
    /// The page of `form`, sent to `action`.
    fn form_page(c: Chrome, action: String, form: Self::Form, errors: Vec<String>) -> ContentPage;
}

/// The pages of the news and the FAQ, each with its template.
#[derive(Template)]
pub(super) enum ContentPage {
    #[template(path = "ministry/console/news.html")]
    NewsList { c: Chrome, items: Vec<NewsItem>, notice: Option<&'static str> },
    #[template(path = "ministry/console/news_form.html")]
    NewsEdit { c: Chrome, action: String, form: NewsForm, errors: Vec<String> },
    #[template(path = "ministry/console/faq.html")]
    FaqList { c: Chrome, items: Vec<FaqItem>, notice: Option<&'static str> },
    #[template(path = "ministry/console/faq_form.html")]
    FaqEdit { c: Chrome, action: String, form: FaqForm, errors: Vec<String> },
}

/// A news item as typed.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct NewsForm {
    /// The day shown, `YYYY-MM-DD`.
    published_on: String,
    title_zh: String,
    title_en: String,
    body_zh: String,
    body_en: String,
}

impl Content for NewsItem {
    type Form = NewsForm;
    const KIND: &'static str = "news";
    const DELETE_QUESTION: &'static str = "moe.console.news.delete_question";
    const LABELS: [&'static str; 4] = [
        "moe.console.news.title_zh",
        "moe.console.news.title_en",
        "moe.console.news.body_zh",
        "moe.console.news.body_en",
    ];

    async fn all(store: &MinistryStore) -> Result<Vec<Self>, AppError> {
        Ok(store.news(500).await?)
    }

    /// Dated today, in Taiwan.
    async fn blank(_: &MinistryStore) -> Result<NewsForm, AppError> {
        Ok(NewsForm { published_on: now().taiwan_date().to_string(), ..NewsForm::default() })
    }

    fn form(self) -> NewsForm {
        let NewsItem { id: _, published_on, title_zh, title_en, body_zh, body_en } = self;
        NewsForm { published_on, title_zh, title_en, body_zh, body_en }
    }

    fn parse(form: &NewsForm, p: &mut Problems, id: i64) -> Option<Self> {
        let date = p.date("moe.console.news.date", &form.published_on);
        let texts = [&form.title_zh, &form.title_en, &form.body_zh, &form.body_en];
        let [title_zh, title_en, body_zh, body_en] = p.texts(Self::LABELS, texts);
        Some(NewsItem { id, published_on: date?.to_string(), title_zh, title_en, body_zh, body_en })
    }

    /// Its day.
    fn detail(&self) -> String {
        self.published_on.clone()
    }

    fn describe(&self, t: Texts) -> String {
        format!("{} {}", self.published_on, pick(t, &self.title_zh, &self.title_en))
    }

    fn list_page(c: Chrome, items: Vec<Self>, notice: Option<&'static str>) -> ContentPage {
        ContentPage::NewsList { c, items, notice }
    }

    fn form_page(c: Chrome, action: String, form: NewsForm, errors: Vec<String>) -> ContentPage {
        ContentPage::NewsEdit { c, action, form, errors }
    }
}

/// A question as typed.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct FaqForm {
    /// Its place in the list, 1 to 9999.
    position: String,
    question_zh: String,
    question_en: String,
    answer_zh: String,
    answer_en: String,
}

impl Content for FaqItem {
    type Form = FaqForm;
    const KIND: &'static str = "faq";
    const DELETE_QUESTION: &'static str = "moe.console.faq.delete_question";
    const LABELS: [&'static str; 4] = [
        "moe.console.faq.question_zh",
        "moe.console.faq.question_en",
        "moe.console.faq.answer_zh",
        "moe.console.faq.answer_en",
    ];

    async fn all(store: &MinistryStore) -> Result<Vec<Self>, AppError> {
        Ok(store.faq().await?)
    }

    /// Placed last.
    async fn blank(store: &MinistryStore) -> Result<FaqForm, AppError> {
        let next = store.faq().await?.iter().map(|q| q.position).max().unwrap_or(0) + 1;
        Ok(FaqForm { position: next.to_string(), ..FaqForm::default() })
    }

    fn form(self) -> FaqForm {
        let FaqItem { id: _, position, question_zh, question_en, answer_zh, answer_en } = self;
        FaqForm { position: position.to_string(), question_zh, question_en, answer_zh, answer_en }
    }

    fn parse(form: &FaqForm, p: &mut Problems, id: i64) -> Option<Self> {
        let position = form.position.trim().parse::<i64>().ok().filter(|n| (1..=9999).contains(n));
        if position.is_none() {
            p.push("moe.console.error.position");
        }
        let texts = [&form.question_zh, &form.question_en, &form.answer_zh, &form.answer_en];
        let [question_zh, question_en, answer_zh, answer_en] = p.texts(Self::LABELS, texts);
        Some(FaqItem { id, position: position?, question_zh, question_en, answer_zh, answer_en })
    }

    /// Its place.
    fn detail(&self) -> String {
        format!("position {}", self.position)
    }

    fn describe(&self, t: Texts) -> String {
        pick(t, &self.question_zh, &self.question_en).to_owned()
    }

    fn list_page(c: Chrome, items: Vec<Self>, notice: Option<&'static str>) -> ContentPage {
        ContentPage::FaqList { c, items, notice }
    }

    fn form_page(c: Chrome, action: String, form: FaqForm, errors: Vec<String>) -> ContentPage {
        ContentPage::FaqEdit { c, action, form, errors }
    }
}

/// The one `form` describes, with `id` (0 for a new one), or what is wrong with it.
pub(super) fn checked<C: Content>(t: Texts, form: &C::Form, id: i64) -> Result<C, Vec<String>> {
    let mut p = Problems::new(t);
    match C::parse(form, &mut p, id) {
        Some(item) if p.list.is_empty() => Ok(item),
        _ => Err(p.list),
    }
}

pub(super) async fn content_list<C: Content>(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let items = C::all(&state.store).await?;
    page(C::list_page(ctx.chrome(Some(&staff), C::KIND), items, notice(ctx.t, &q)))
}

/// The form of a new one (`id` none) or of the one with `id`; with `errors`, answered 422.
pub(super) fn form_page<C: Content>(
    ctx: &Ctx,
    staff: &Staff,
    id: Option<i64>,
    form: C::Form,
    errors: Vec<String>,
) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let action = match id {
        Some(id) => format!("/console/{}/{id}", C::KIND),
        None => format!("/console/{}", C::KIND),
    };
    with_status(status, page(C::form_page(ctx.chrome(Some(staff), C::KIND), action, form, errors)))
}

/// The form of a new one (at `/new`, no `id`) or of the one with `id`.
pub(super) async fn content_form<C: Content>(
    State(state): State<MinistryState>,
    ctx: Ctx,
    id: Option<Path<i64>>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let id = id.map(|Path(id)| id);
    let form = match id {
        Some(id) => state.store.content_item::<C>(id).await?.form(),
        None => C::blank(&state.store).await?,
    };
    form_page::<C>(&ctx, &staff, id, form, Vec::new())
}

/// Adds a new one (posted to the list, no `id`) or replaces the one with `id`, as the form
/// says; audited as `{KIND}_add` or `{KIND}_edit`.
pub(super) async fn content_save<C: Content>(
    State(state): State<MinistryState>,
    id: Option<Path<i64>>,
    Posted(ctx, form): Posted<C::Form>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let id = id.map(|Path(id)| id);
    let item = match checked::<C>(ctx.t, &form, id.unwrap_or(0)) {
        Ok(item) => item,
        Err(errors) => return form_page::<C>(&ctx, &staff, id, form, errors),
    };
    let (change, done) = if id.is_some() { ("edit", "saved") } else { ("add", "added") };
    let kind = C::KIND;
    let audit = |saved| ctx.audit_by(&staff, &format!("{kind}_{change}"), format!("{kind}:{saved}"), item.detail());
    state.store.save_content(&item, &staff.username, now().unix(), audit).await?;
    Ok(redirect(&format!("/console/{kind}?done={done}")))
}

pub(super) async fn content_confirm<C: Content>(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = state.store.content_item::<C>(id).await?;
    let t = ctx.t;
    page(ConfirmPage {
        c: ctx.chrome(Some(&staff), C::KIND),
        question: t.s(C::DELETE_QUESTION).to_owned(),
        what: item.describe(t),
        action: format!("/console/{}/{id}/delete", C::KIND),
        back: format!("/console/{}", C::KIND),
    })
}

/// Removes the one with `id`; audited as `{KIND}_delete`, with what is noted of it.
pub(super) async fn content_delete<C: Content>(
    State(state): State<MinistryState>,
    Path(id): Path<i64>,
    Posted(ctx, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = state.store.content_item::<C>(id).await?;
    let kind = C::KIND;
    let audit = ctx.audit_by(&staff, &format!("{kind}_delete"), format!("{kind}:{id}"), item.detail());
    state.store.delete_content::<C>(id, &audit).await?;
    Ok(redirect(&format!("/console/{kind}?done=deleted")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn a_form_reports_every_missing_language_and_a_bad_date() {
        let t = Texts::new(Lang::En);
        let form = NewsForm {
            published_on: "2025-02-30".into(),
            title_zh: "標題".into(),
            title_en: " ".into(),
            body_zh: "內容\r\n第二行".into(),
            body_en: String::new(),
        };
        let errors = checked::<NewsItem>(t, &form, 0).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        let good =
            NewsForm { published_on: "2025-02-28".into(), title_en: "Title".into(), body_en: "Text".into(), ..form };
        let item = checked::<NewsItem>(t, &good, 7).unwrap();
        assert_eq!((item.id, item.body_zh.as_str()), (7, "內容\n第二行"));
    }
}
