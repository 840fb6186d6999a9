// The Routes page offscreen, against a temporary settings file: what it lists of the
// providers and rules, that its dialogs write "providers" and "routes" as the settings file
// reads them back (in order, nothing invalid), that a provider a rule uses cannot be
// removed, the test field's explanation, and the health cell.
#include "ProviderDialog.h"
#include "ProvidersModel.h"
#include "RouteDialog.h"
#include "RoutesModel.h"
#include "RoutesPage.h"
#include "config/ConfigFile.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace tollgate;

namespace {
// Two providers and two rules; "port" shows that keys the page does not own stay. Written
// with ' for " to stay readable.
QByteArray settingsJson()
{
    return QByteArray(
               "{'port': 9999, 'upstream': 'https://anthropic.example.com',"
               " 'upstream_keys': ['work'],"
               " 'providers': {"
               "  'openrouter': {'kind': 'openai', 'base_url': 'https://openrouter.ai/api/v1',"
               "                 'keys': ['or-main'], 'key_env': 'OPENROUTER_API_KEY',"
               "                 'headers': {'X-Title': 'Tollgate'},"
               "                 'prices': {'openai/gpt-5': {'input': '1.25', 'output': '10'}}},"
               "  'spare': {'kind': 'anthropic', 'base_url': 'https://spare.example.com'}},"
               " 'routes': ["
               "  {'model': 'gpt-*', 'provider': 'openrouter', 'fallback': ['anthropic'],"
               "   'rewrite_model': 'openai/gpt-5'},"
               "  {'model': 'claude-opus-*', 'provider': 'anthropic', 'thinking': true,"
               "   'virtual_key': 'ci', 'min_prompt_tokens': 100000}]}")
        .replace('\'', '"');
}

QString cell(const QAbstractItemModel *model, int row, int column, int role = Qt::DisplayRole)
{
    return model->index(row, column).data(role).toString();
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QPushButton *button(QWidget *page, const QString &objectName)
{
    return page->findChild<QPushButton *>(objectName);
}

Route route(const QString &model, const QStringList &providers)
{
    Route route;
    route.model = model;
    route.providers = providers;
    return route;
}
} // namespace

class tst_RoutesPage final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void listsTheProvidersAndRulesOfAConfig();
    void builtInProviderCannotBeEditedOrRemoved();
    void addedRuleIsWrittenInOrderAndReadsBackEqual();
    void movingARuleReordersAndSaves();
    void removingAProviderARuleUsesIsRefused();
    void removingAnUnusedProviderKeepsTheOthersAndTheirPrices();
    void addedProviderIsWrittenWithItsHeadersAndTimeouts();
    void invalidProviderShowsTheSettingsErrorAndSavesNothing();
    void ruleNamingAnUnknownProviderIsNotSaved();
    void testFieldExplainsWhereAModelGoes();
    void healthCellShowsWhatTheGatewayReports();

private:
    QString path() const { return m_dir->filePath(QStringLiteral("config.json")); }
    void openPage(const QByteArray &settings = settingsJson());
    GatewayConfig readBack() const;
    template<typename Dialog>
    Dialog *clickForDialog(const QString &buttonName);
    void confirm(const QString &buttonText);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<RoutesPage> m_page;
};

void tst_RoutesPage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_RoutesPage::cleanup()
{
    m_page.reset();
    m_dir.reset();
}

void tst_RoutesPage::openPage(const QByteArray &settings)
{
    QFile file(path());
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(settings);
    file.close();
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::load(path(), true, &config, &error), qPrintable(error));
    m_page = std::make_unique<RoutesPage>(path());
    new QAbstractItemModelTester(m_page->providersModel(),
                                 QAbstractItemModelTester::FailureReportingMode::QtTest,
                                 m_page.get());
    new QAbstractItemModelTester(m_page->routesModel(),
                                 QAbstractItemModelTester::FailureReportingMode::QtTest,
                                 m_page.get());
    m_page->setConfig(config);
    m_page->resize(1000, 760);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
}

GatewayConfig tst_RoutesPage::readBack() const
{
    GatewayConfig config;
    QString error;
    if (!ConfigFile::apply(readAll(path()), path(), &config, &error))
        qWarning("%s", qPrintable(error));
    return config;
}

template<typename Dialog>
Dialog *tst_RoutesPage::clickForDialog(const QString &buttonName)
{
    QPushButton *clicked = button(m_page.get(), buttonName);
    if (!clicked || !clicked->isEnabled())
        return nullptr;
    QTest::mouseClick(clicked, Qt::LeftButton);
    auto *dialog = m_page->findChild<Dialog *>();
    if (dialog && !QTest::qWaitForWindowExposed(dialog))
        return nullptr;
    return dialog;
}

void tst_RoutesPage::confirm(const QString &buttonText)
{
    QMessageBox *box = nullptr;
    QTRY_VERIFY((box = m_page->findChild<QMessageBox *>()) != nullptr);
    QAbstractButton *yes = nullptr;
    for (QAbstractButton *candidate : box->buttons()) {
        if (candidate->text() == buttonText)
            yes = candidate;
    }
    QVERIFY(yes);
    yes->click();
}

void tst_RoutesPage::listsTheProvidersAndRulesOfAConfig()
{
    openPage();
    const QAbstractItemModel *providers = m_page->providersModel();
    QCOMPARE(providers->rowCount(), 3);
    QCOMPARE(cell(providers, 0, ProvidersModel::NameColumn), QStringLiteral("anthropic"));
    QCOMPARE(cell(providers, 0, ProvidersModel::KindColumn), QStringLiteral("anthropic"));
    QCOMPARE(cell(providers, 0, ProvidersModel::BaseUrlColumn),
             QStringLiteral("https://anthropic.example.com"));
    QCOMPARE(cell(providers, 0, ProvidersModel::KeysColumn), QStringLiteral("work"));
    QCOMPARE(cell(providers, 1, ProvidersModel::NameColumn), QStringLiteral("openrouter"));
    QCOMPARE(cell(providers, 1, ProvidersModel::KindColumn), QStringLiteral("openai"));
    QCOMPARE(cell(providers, 1, ProvidersModel::BaseUrlColumn),
             QStringLiteral("https://openrouter.ai/api/v1"));
    QCOMPARE(cell(providers, 1, ProvidersModel::KeysColumn),
             QStringLiteral("or-main, $OPENROUTER_API_KEY"));
    QCOMPARE(cell(providers, 2, ProvidersModel::NameColumn), QStringLiteral("spare"));
    QCOMPARE(cell(providers, 2, ProvidersModel::KeysColumn), QStringLiteral("none"));
    for (int row = 0; row < providers->rowCount(); ++row)
        QCOMPARE(cell(providers, row, ProvidersModel::HealthColumn), QStringLiteral("—"));

    const QAbstractItemModel *rules = m_page->routesModel();
    QCOMPARE(rules->rowCount(), 3);
    QCOMPARE(cell(rules, 0, RoutesModel::OrderColumn), QStringLiteral("1"));
    QCOMPARE(cell(rules, 0, RoutesModel::ModelColumn), QStringLiteral("gpt-*"));
    QCOMPARE(cell(rules, 0, RoutesModel::ConditionsColumn), QStringLiteral("any request"));
    QCOMPARE(cell(rules, 0, RoutesModel::ProvidersColumn),
             QStringLiteral("openrouter, then anthropic"));
    QCOMPARE(cell(rules, 0, RoutesModel::RewriteColumn), QStringLiteral("openai/gpt-5"));
    QCOMPARE(cell(rules, 1, RoutesModel::ModelColumn), QStringLiteral("claude-opus-*"));
    QCOMPARE(cell(rules, 1, RoutesModel::ConditionsColumn),
             QStringLiteral("virtual key ci · thinking on · prompts of %1 tokens or more")
                 .arg(QLocale().toString(100000)));
    QCOMPARE(cell(rules, 1, RoutesModel::RewriteColumn), QStringLiteral("as requested"));
    // First match wins, and what none takes reads across the last row.
    QCOMPARE(cell(rules, 2, RoutesModel::ModelColumn), QStringLiteral("otherwise → anthropic"));
    QCOMPARE(rules->index(2, 0).data(RoutesModel::RuleRole).toInt(), -1);
    QCOMPARE(m_page->rulesView()->columnSpan(2, RoutesModel::ModelColumn),
             RoutesModel::ColumnCount - RoutesModel::ModelColumn);
}

void tst_RoutesPage::builtInProviderCannotBeEditedOrRemoved()
{
    openPage();
    QVERIFY(m_page->selectProvider(QStringLiteral("anthropic")));
    QVERIFY(!button(m_page.get(), QStringLiteral("editProvider"))->isEnabled());
    QVERIFY(!button(m_page.get(), QStringLiteral("removeProvider"))->isEnabled());
    QVERIFY(m_page->selectProvider(QStringLiteral("spare")));
    QVERIFY(button(m_page.get(), QStringLiteral("editProvider"))->isEnabled());
    QVERIFY(button(m_page.get(), QStringLiteral("removeProvider"))->isEnabled());
}

void tst_RoutesPage::addedRuleIsWrittenInOrderAndReadsBackEqual()
{
    openPage();
    QSignalSpy changed(m_page.get(), &RoutesPage::routesChanged);
    QPointer<RouteDialog> dialog = clickForDialog<RouteDialog>(QStringLiteral("addRule"));
    QVERIFY(dialog);
    QVERIFY(!dialog->okButton()->isEnabled()); // no pattern yet
    QTest::keyClicks(dialog->modelEdit(), QStringLiteral("o?-*"));
    dialog->providerBox()->setCurrentText(QStringLiteral("spare"));
    QCOMPARE(dialog->providerBox()->currentText(), QStringLiteral("spare"));
    QTest::keyClicks(dialog->fallbackEdit(), QStringLiteral("openrouter, anthropic"));
    dialog->thinkingBox()->setCurrentIndex(2); // only with thinking off
    QTest::keyClicks(dialog->rewriteModelEdit(), QStringLiteral("claude-sonnet-4-6"));
    QTest::mouseClick(dialog->okButton(), Qt::LeftButton);
    QTRY_VERIFY(!dialog);
    QCOMPARE(changed.count(), 1);

    Route added =
        route(QStringLiteral("o?-*"),
              {QStringLiteral("spare"), QStringLiteral("openrouter"), QStringLiteral("anthropic")});
    added.thinking = false;
    added.rewriteModel = QStringLiteral("claude-sonnet-4-6");
    const QJsonArray written =
        QJsonDocument::fromJson(readAll(path())).object().value(QStringLiteral("routes")).toArray();
    QCOMPARE(written.size(), 3);
    QCOMPARE(written.at(0).toObject().value(QStringLiteral("model")).toString(),
             QStringLiteral("gpt-*"));
    QCOMPARE(
        written.at(2).toObject(),
        (QJsonObject {{QStringLiteral("model"), QStringLiteral("o?-*")},
                      {QStringLiteral("provider"), QStringLiteral("spare")},
                      {QStringLiteral("fallback"),
                       QJsonArray {QStringLiteral("openrouter"), QStringLiteral("anthropic")}},
                      {QStringLiteral("thinking"), false},
                      {QStringLiteral("rewrite_model"), QStringLiteral("claude-sonnet-4-6")}}));

    const GatewayConfig config = readBack();
    QCOMPARE(config.routes.size(), 3);
    QCOMPARE(config.routes.at(2), added);
    QCOMPARE(config.routes, m_page->config().routes);
    QCOMPARE(config.port, quint16(9999)); // the rest of the file stays
    QCOMPARE(cell(m_page->routesModel(), 2, RoutesModel::ModelColumn), QStringLiteral("o?-*"));
    QCOMPARE(cell(m_page->routesModel(), 3, RoutesModel::ModelColumn),
             QStringLiteral("otherwise → anthropic"));
}

void tst_RoutesPage::movingARuleReordersAndSaves()
{
    openPage();
    QSignalSpy changed(m_page.get(), &RoutesPage::routesChanged);
    QVERIFY(m_page->selectRule(0));
    QPushButton *up = button(m_page.get(), QStringLiteral("moveRuleUp"));
    QPushButton *down = button(m_page.get(), QStringLiteral("moveRuleDown"));
    QVERIFY(!up->isEnabled()); // already first
    QVERIFY(down->isEnabled());
    QTest::mouseClick(down, Qt::LeftButton);
    QCOMPARE(changed.count(), 1);
    QStringList models;
    for (const Route &rule : readBack().routes)
        models.append(rule.model);
    QCOMPARE(models, (QStringList {QStringLiteral("claude-opus-*"), QStringLiteral("gpt-*")}));
    QCOMPARE(readBack().routes, m_page->config().routes);
    // The moved rule stays selected, now last of the rules.
    QCOMPARE(m_page->rulesView()->selectionModel()->selectedRows().value(0).row(), 1);
    QVERIFY(!down->isEnabled());

    QTest::mouseClick(up, Qt::LeftButton);
    QCOMPARE(changed.count(), 2);
    models.clear();
    for (const Route &rule : readBack().routes)
        models.append(rule.model);
    QCOMPARE(models, (QStringList {QStringLiteral("gpt-*"), QStringLiteral("claude-opus-*")}));
    QCOMPARE(cell(m_page->routesModel(), 0, RoutesModel::ModelColumn), QStringLiteral("gpt-*"));

    // The last row is not a rule: it does not move.
    QVERIFY(!m_page->selectRule(2));
    m_page->rulesView()->selectRow(2);
    QVERIFY(!up->isEnabled());
    QVERIFY(!button(m_page.get(), QStringLiteral("removeRule"))->isEnabled());
}

void tst_RoutesPage::removingAProviderARuleUsesIsRefused()
{
    openPage();
    const QByteArray before = readAll(path());
    QSignalSpy changed(m_page.get(), &RoutesPage::routesChanged);
    QVERIFY(m_page->selectProvider(QStringLiteral("openrouter")));
    QTest::mouseClick(button(m_page.get(), QStringLiteral("removeProvider")), Qt::LeftButton);
    QVERIFY(!m_page->findChild<QMessageBox *>()); // nothing to confirm: it is refused
    QVERIFY2(m_page->statusText().contains(QStringLiteral("rule 1 (gpt-*)")),
             qPrintable(m_page->statusText()));
    QVERIFY(m_page->statusText().contains(QStringLiteral("not removed")));
    QCOMPARE(readAll(path()), before);
    QCOMPARE(changed.count(), 0);
    QVERIFY(m_page->providersModel()->rowOf(QStringLiteral("openrouter")) >= 0);
}

void tst_RoutesPage::removingAnUnusedProviderKeepsTheOthersAndTheirPrices()
{
    openPage();
    QSignalSpy changed(m_page.get(), &RoutesPage::routesChanged);
    QVERIFY(m_page->selectProvider(QStringLiteral("spare")));
    QTest::mouseClick(button(m_page.get(), QStringLiteral("removeProvider")), Qt::LeftButton);
    confirm(QStringLiteral("Remove"));
    QCOMPARE(changed.count(), 1);
    const GatewayConfig config = readBack();
    QCOMPARE(config.providers.size(), 1);
    const Provider &openrouter = config.providers.constFirst();
    QCOMPARE(openrouter.name, QStringLiteral("openrouter"));
    QCOMPARE(openrouter.keyAliases, QStringList {QStringLiteral("or-main")});
    QCOMPARE(openrouter.keyVariable, QStringLiteral("OPENROUTER_API_KEY"));
    QCOMPARE(openrouter.headers.size(), 1);
    QCOMPARE(openrouter.headers.constFirst().second, QByteArray("Tollgate"));
    QVERIFY(openrouter.prices.contains(QStringLiteral("openai/gpt-5")));
    QCOMPARE(config.routes.size(), 2);
    QCOMPARE(m_page->providersModel()->rowCount(), 2);
    QCOMPARE(m_page->providersModel()->rowOf(QStringLiteral("spare")), -1);
}

void tst_RoutesPage::addedProviderIsWrittenWithItsHeadersAndTimeouts()
{
    openPage();
    QPointer<ProviderDialog> dialog = clickForDialog<ProviderDialog>(QStringLiteral("addProvider"));
    QVERIFY(dialog);
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("deepinfra"));
    dialog->kindBox()->setCurrentIndex(1); // OpenAI
    QCOMPARE(dialog->authBox()->currentData().toString(), QStringLiteral("bearer"));
    QTest::keyClicks(dialog->baseUrlEdit(), QStringLiteral("https://api.deepinfra.com/v1/openai"));
    QTest::keyClicks(dialog->keyAliasesEdit(), QStringLiteral("di-main, di-spare"));
    QTest::keyClicks(dialog->keyVariableEdit(), QStringLiteral("$DEEPINFRA_TOKEN"));
    dialog->headersEdit()->setPlainText(QStringLiteral("X-Title: Tollgate\nHTTP-Referer: "
                                                       "https://example.com\n"));
    dialog->firstByteTimeoutBox()->setValue(90);
    QTest::mouseClick(dialog->okButton(), Qt::LeftButton);
    QTRY_VERIFY(!dialog);

    const GatewayConfig config = readBack();
    QCOMPARE(config.providers.size(), 3);
    const Provider &added = config.providers.at(0); // the file keeps names in order
    QCOMPARE(added.name, QStringLiteral("deepinfra"));
    QCOMPARE(added.kind, Provider::Kind::OpenAi);
    QCOMPARE(added.auth, Provider::Auth::Bearer);
    QCOMPARE(added.baseUrl, QUrl(QStringLiteral("https://api.deepinfra.com/v1/openai")));
    QCOMPARE(added.keyAliases,
             (QStringList {QStringLiteral("di-main"), QStringLiteral("di-spare")}));
    QCOMPARE(added.keyVariable, QStringLiteral("DEEPINFRA_TOKEN"));
    QCOMPARE(added.headers.size(), 2);
    QCOMPARE(added.firstByteTimeoutMs, 90'000);
    QCOMPARE(added.connectTimeoutMs, 0);
    // The others are untouched, prices included.
    QVERIFY(config.providers.at(1).prices.contains(QStringLiteral("openai/gpt-5")));
    const int row = m_page->providersModel()->rowOf(QStringLiteral("deepinfra"));
    QVERIFY(row > 0);
    QCOMPARE(cell(m_page->providersModel(), row, ProvidersModel::KeysColumn),
             QStringLiteral("di-main, di-spare, $DEEPINFRA_TOKEN"));
}

void tst_RoutesPage::invalidProviderShowsTheSettingsErrorAndSavesNothing()
{
    openPage();
    const QByteArray before = readAll(path());
    QSignalSpy changed(m_page.get(), &RoutesPage::routesChanged);
    QPointer<ProviderDialog> dialog = clickForDialog<ProviderDialog>(QStringLiteral("addProvider"));
    QVERIFY(dialog);
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("broken"));
    QTest::keyClicks(dialog->baseUrlEdit(), QStringLiteral("ftp://files.example.com"));
    QTest::mouseClick(dialog->okButton(), Qt::LeftButton);
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    QCOMPARE(dialog->errorText(),
             QStringLiteral("\"providers.broken.base_url\" must be an http:// or https:// URL"));
    QCOMPARE(readAll(path()), before);
    QCOMPARE(changed.count(), 0);
    QCOMPARE(m_page->providersModel()->rowOf(QStringLiteral("broken")), -1);

    // A header line without a colon never reaches the file either.
    dialog->baseUrlEdit()->setText(QStringLiteral("https://files.example.com"));
    dialog->headersEdit()->setPlainText(QStringLiteral("X-Title Tollgate"));
    QVERIFY(!dialog->okButton()->isEnabled());
    QCOMPARE(dialog->errorText(), QStringLiteral("Header line 1: write it as Name: value."));
    QCOMPARE(readAll(path()), before);
    dialog->reject();
}

void tst_RoutesPage::ruleNamingAnUnknownProviderIsNotSaved()
{
    openPage();
    const QByteArray before = readAll(path());
    QVERIFY(m_page->selectRule(0));
    QPointer<RouteDialog> dialog = clickForDialog<RouteDialog>(QStringLiteral("editRule"));
    QVERIFY(dialog);
    QCOMPARE(dialog->modelEdit()->text(), QStringLiteral("gpt-*"));
    QCOMPARE(dialog->fallbackEdit()->text(), QStringLiteral("anthropic"));
    dialog->fallbackEdit()->setText(QStringLiteral("nowhere"));
    QTest::mouseClick(dialog->okButton(), Qt::LeftButton);
    QVERIFY(dialog && dialog->isVisible());
    QVERIFY2(dialog->errorText().contains(QStringLiteral("unknown provider \"nowhere\"")),
             qPrintable(dialog->errorText()));
    QCOMPARE(readAll(path()), before);
    dialog->reject();
}

void tst_RoutesPage::testFieldExplainsWhereAModelGoes()
{
    openPage();
    QTest::keyClicks(m_page->testModelEdit(), QStringLiteral("gpt-5"));
    QCOMPARE(m_page->testResultText(),
             QStringLiteral("rule 1 (gpt-*): matches\n"
                            "-> openrouter, then anthropic as model \"openai/gpt-5\""));

    m_page->testModelEdit()->setText(QStringLiteral("claude-sonnet-4-6"));
    const QStringList lines = m_page->testResultText().split(u'\n');
    QCOMPARE(lines.size(), 3);
    QVERIFY(lines.at(0).startsWith(QStringLiteral("rule 1 (gpt-*): skipped")));
    QCOMPARE(lines.last(), QStringLiteral("-> anthropic (no rule matched: the default route)"));

    // The conditions count: the opus rule wants key ci, thinking and a long prompt.
    m_page->testModelEdit()->setText(QStringLiteral("claude-opus-4-8"));
    QVERIFY(m_page->testResultText().endsWith(QStringLiteral("the default route)")));
    m_page->testVirtualKeyBox()->setCurrentText(QStringLiteral("ci"));
    m_page->testThinkingBox()->setChecked(true);
    m_page->testPromptTokensBox()->setValue(150000);
    QVERIFY2(m_page->testResultText().endsWith(QStringLiteral("rule 2 (claude-opus-*): matches\n"
                                                              "-> anthropic")),
             qPrintable(m_page->testResultText()));
}

void tst_RoutesPage::healthCellShowsWhatTheGatewayReports()
{
    openPage();
    const QAbstractItemModel *model = m_page->providersModel();
    const int row = m_page->providersModel()->rowOf(QStringLiteral("openrouter"));
    QCOMPARE(cell(model, row, ProvidersModel::HealthColumn), QStringLiteral("—"));
    QVERIFY(!model->index(row, ProvidersModel::HealthColumn).data(Qt::ForegroundRole).isValid());
    QSignalSpy changed(m_page->providersModel(), &QAbstractItemModel::dataChanged);

    m_page->setProviderHealth(QStringLiteral("openrouter"), QStringLiteral("failing"),
                              QStringLiteral("503 from openrouter.ai 3 times in a row"));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(cell(model, row, ProvidersModel::HealthColumn), QStringLiteral("failing"));
    QCOMPARE(cell(model, row, ProvidersModel::HealthColumn, Qt::ToolTipRole),
             QStringLiteral("503 from openrouter.ai 3 times in a row"));
    const QBrush failing =
        model->index(row, ProvidersModel::HealthColumn).data(Qt::ForegroundRole).value<QBrush>();

    m_page->setProviderHealth(QStringLiteral("openrouter"), QStringLiteral("ok"), QString());
    QCOMPARE(cell(model, row, ProvidersModel::HealthColumn), QStringLiteral("ok"));
    const QBrush ok =
        model->index(row, ProvidersModel::HealthColumn).data(Qt::ForegroundRole).value<QBrush>();
    QVERIFY(ok.color() != failing.color());
    // The others are still unknown, and the health survives a reload of the config.
    QCOMPARE(cell(model, 0, ProvidersModel::HealthColumn), QStringLiteral("—"));
    m_page->setConfig(m_page->config());
    QCOMPARE(cell(model, row, ProvidersModel::HealthColumn), QStringLiteral("ok"));
}

QTEST_MAIN(tst_RoutesPage)
#include "tst_RoutesPage.moc"
