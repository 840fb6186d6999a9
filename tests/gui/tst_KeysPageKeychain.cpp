// The Keys page's changes against a real, throwaway keychain (tests/support/with-keyring.sh)
// and a real Gateway: adding and removing upstream keys, creating, rotating, editing and
// removing virtual keys, each landing in the keychain, the settings file and the running
// proxy; new virtual keys shown once; and the first start's offer to import
// ANTHROPIC_API_KEY, asked once.
#include "DesktopApp.h"
#include "DesktopPages.h"
#include "DesktopSettings.h"
#include "GatewayHarness.h"
#include "KeysPage.h"
#include "KeysPageFixture.h"
#include "MainWindow.h"
#include "MockUpstream.h"
#include "NewSecretDialog.h"
#include "TestFiles.h"
#include "TrayController.h"
#include "UpstreamKeyDialog.h"
#include "VirtualKeyDialog.h"
#include "keys/KeyStore.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDoubleSpinBox>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPointer>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;
using namespace tollgate::test::keyspage;

namespace {
// The visible one: a closed dialog lingers until its deferred deletion.
template<typename T>
T *visibleChild(QWidget *parent)
{
    const QList<T *> children = parent->findChildren<T *>();
    for (T *child : children) {
        if (child->isVisible())
            return child;
    }
    return nullptr;
}

void clickButton(QMessageBox *box, const QString &text)
{
    const QList<QAbstractButton *> buttons = box->buttons();
    for (QAbstractButton *button : buttons) {
        if (button->text() == text) {
            button->click();
            return;
        }
    }
    QFAIL(qPrintable(QStringLiteral("no button %1").arg(text)));
}

// Whether any text the page shows holds the secret.
bool showsSecret(QWidget *page, const QByteArray &secret)
{
    const QString text = QString::fromLatin1(secret);
    for (const QLineEdit *edit : page->findChildren<QLineEdit *>()) {
        if (edit->isVisible() && edit->text().contains(text))
            return true;
    }
    for (const QLabel *label : page->findChildren<QLabel *>()) {
        if (label->isVisible() && label->text().contains(text))
            return true;
    }
    for (const QPlainTextEdit *edit : page->findChildren<QPlainTextEdit *>()) {
        if (edit->isVisible() && edit->toPlainText().contains(text))
            return true;
    }
    return false;
}
} // namespace

class tst_KeysPageKeychain final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void addStoresTheKeyInTheKeychainTheSettingsAndTheProxy();
    void removingAnUpstreamKeyAsksAndTakesItOutEverywhere();
    void createdVirtualKeyIsShownOnceAndWorks();
    void rotatingGivesANewSecretAndTheOldOneStopsWorking();
    void editingChangesWhatTheKeyMayDo();
    void removedVirtualKeyIsRefused();
    void firstStartOffersToImportTheEnvironmentKeyOnce();

private:
    void startGateway();
    void openPage();
    QByteArray createVirtualKey(const QString &alias);
    // Creates the key, closes the dialog that shows it, and selects its row.
    QByteArray createAndSelectVirtualKey(const QString &alias);
    QByteArray waitForNewSecret();
    std::optional<QByteArray> keychain(KeyStore::Kind kind, const QString &alias);
    QJsonObject settings() const { return objectOfFile(m_configPath); }

    QString m_service;
    QString m_configPath;
    QTemporaryDir *m_dir = nullptr;
    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_harness = nullptr;
    KeysPage *m_page = nullptr;
};

void tst_KeysPageKeychain::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    // Away from the user's own entries wherever the keychain is a real one.
    m_service = QStringLiteral("TollgateTest-KeysPage-%1").arg(QCoreApplication::applicationPid());
}

void tst_KeysPageKeychain::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(m_dir->isValid());
    m_configPath = m_dir->filePath(QStringLiteral("config.json"));
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_mock->setHandler(answer);
    m_harness = new GatewayHarness(this);
}

void tst_KeysPageKeychain::cleanup()
{
    delete m_page;
    m_page = nullptr;
    if (m_harness)
        QVERIFY(m_harness->stop());
    delete m_harness;
    m_harness = nullptr;
    delete m_mock;
    m_mock = nullptr;
    delete m_dir;
    m_dir = nullptr;
    KeyStore store(m_service);
    for (const char *alias : {"work", "imported"})
        store.remove(KeyStore::Kind::Upstream, QString::fromLatin1(alias), nullptr);
    for (const char *alias : {"alice"})
        store.remove(KeyStore::Kind::Virtual, QString::fromLatin1(alias), nullptr);
    qunsetenv("ANTHROPIC_API_KEY");
}

void tst_KeysPageKeychain::startGateway()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamKey.clear();
    config.upstreamKeys = {{QStringLiteral("ci"), ciKey()}}; // from the environment
    QVERIFY(m_harness->start(config));
}

void tst_KeysPageKeychain::openPage()
{
    m_page = new KeysPage(&m_harness->gateway(), nullptr, m_configPath, m_service);
    m_page->resize(1100, 700);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page));
}

std::optional<QByteArray> tst_KeysPageKeychain::keychain(KeyStore::Kind kind, const QString &alias)
{
    QString error;
    const std::optional<QByteArray> secret = KeyStore(m_service).load(kind, alias, &error);
    if (!error.isEmpty())
        qWarning("keychain: %s", qPrintable(error));
    return secret;
}

QByteArray tst_KeysPageKeychain::waitForNewSecret()
{
    NewSecretDialog *shown = nullptr;
    if (!QTest::qWaitFor([&] { return (shown = visibleChild<NewSecretDialog>(m_page)); }, 10000))
        return {};
    return shown->secretText().toLatin1();
}

QByteArray tst_KeysPageKeychain::createVirtualKey(const QString &alias)
{
    button(m_page, QStringLiteral("createVirtual"))->click();
    VirtualKeyDialog *dialog = visibleChild<VirtualKeyDialog>(m_page);
    if (!dialog)
        return {};
    QTest::keyClicks(dialog->aliasEdit(), alias);
    QTest::keyClicks(dialog->tagEdit(), QStringLiteral("team-a"));
    dialog->dailyBudgetBox()->setValue(5);
    dialog->okButton()->click();
    return waitForNewSecret();
}

QByteArray tst_KeysPageKeychain::createAndSelectVirtualKey(const QString &alias)
{
    const QByteArray secret = createVirtualKey(alias);
    if (NewSecretDialog *shown = visibleChild<NewSecretDialog>(m_page))
        shown->close();
    if (!m_page->selectVirtualKey(alias))
        return {};
    return secret;
}

void tst_KeysPageKeychain::addStoresTheKeyInTheKeychainTheSettingsAndTheProxy()
{
    startGateway();
    openPage();
    button(m_page, QStringLiteral("addUpstream"))->click();
    QPointer<UpstreamKeyDialog> dialog = visibleChild<UpstreamKeyDialog>(m_page);
    QVERIFY(dialog);
    QCOMPARE(dialog->keyEdit()->echoMode(), QLineEdit::Password);
    QVERIFY(!dialog->storeButton()->isEnabled());
    QTest::keyClicks(dialog->aliasEdit(), QStringLiteral("ci"));
    QTest::keyClicks(dialog->keyEdit(), QString::fromLatin1(workKey()));
    // "ci" comes from the environment: the keychain cannot take its name.
    QVERIFY(!dialog->storeButton()->isEnabled());
    QVERIFY(dialog->errorText().contains(QStringLiteral("environment")));
    dialog->aliasEdit()->clear();
    QTest::keyClicks(dialog->aliasEdit(), QStringLiteral("work"));
    QVERIFY(dialog->storeButton()->isEnabled());
    dialog->storeButton()->click();
    QVERIFY(!dialog || dialog->keyEdit()->text().isEmpty());
    QTRY_VERIFY(!m_page->isBusy());

    QCOMPARE(m_page->statusText(),
             QStringLiteral("Stored the upstream key \"work\" (sk-ant-api03-…WORK) in the system "
                            "keychain; the proxy uses it from now on."));
    QCOMPARE(keychain(KeyStore::Kind::Upstream, QStringLiteral("work")), workKey());
    QCOMPARE(settings().value(QLatin1String("upstream_keys")).toArray(),
             QJsonArray({QStringLiteral("work")}));
    QVERIFY(!readAll(m_configPath).contains(workKey()));
    const int row = rowOf(m_page->upstreamModel(), QStringLiteral("work"));
    QVERIFY(row >= 0);
    QCOMPARE(cell(m_page->upstreamModel(), row, UpstreamKeysModel::KeyColumn),
             QStringLiteral("sk-ant-api03-…WORK"));
    QVERIFY(!showsSecret(m_page, workKey()));

    // The running proxy has it: round robin sends one of two requests with it.
    m_mock->clear();
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QStringList used;
    for (const MockRequest &request : m_mock->requests())
        used.append(QString::fromLatin1(request.header("x-api-key")));
    QVERIFY(used.contains(QString::fromLatin1(workKey())));
    QTRY_COMPARE(cell(m_page->upstreamModel(), row, UpstreamKeysModel::RequestsColumn),
                 QStringLiteral("49/50"));
}

void tst_KeysPageKeychain::removingAnUpstreamKeyAsksAndTakesItOutEverywhere()
{
    startGateway();
    openPage();
    m_page->storeUpstreamKey(QStringLiteral("work"), workKey());
    QTRY_VERIFY(rowOf(m_page->upstreamModel(), QStringLiteral("work")) >= 0);
    QTRY_VERIFY(!m_page->isBusy());

    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("work")));
    button(m_page, QStringLiteral("removeUpstream"))->click();
    QMessageBox *box = visibleChild<QMessageBox>(m_page);
    QVERIFY(box);
    QVERIFY(box->text().contains(QStringLiteral("\"work\"")));
    clickButton(box, QStringLiteral("Cancel"));
    QVERIFY(!m_page->isBusy());
    QVERIFY(keychain(KeyStore::Kind::Upstream, QStringLiteral("work")).has_value());

    button(m_page, QStringLiteral("removeUpstream"))->click();
    box = visibleChild<QMessageBox>(m_page);
    QVERIFY(box);
    clickButton(box, QStringLiteral("Remove"));
    QTRY_COMPARE(rowOf(m_page->upstreamModel(), QStringLiteral("work")), -1);
    QTRY_VERIFY(!m_page->isBusy());
    QCOMPARE(m_page->statusText(), QStringLiteral("Removed the upstream key \"work\"."));
    QCOMPARE(keychain(KeyStore::Kind::Upstream, QStringLiteral("work")), std::nullopt);
    QVERIFY(!settings().contains(QLatin1String("upstream_keys")));
    m_mock->clear();
    for (int i = 0; i < 3; ++i)
        QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    for (const MockRequest &request : m_mock->requests())
        QCOMPARE(request.header("x-api-key"), ciKey());
}

void tst_KeysPageKeychain::createdVirtualKeyIsShownOnceAndWorks()
{
    startGateway();
    openPage();
    button(m_page, QStringLiteral("createVirtual"))->click();
    VirtualKeyDialog *dialog = visibleChild<VirtualKeyDialog>(m_page);
    QVERIFY(dialog);
    QTest::keyClicks(dialog->aliasEdit(), QStringLiteral("default"));
    QVERIFY(!dialog->okButton()->isEnabled()); // the built-in key's name
    dialog->aliasEdit()->clear();
    QTest::keyClicks(dialog->aliasEdit(), QStringLiteral("alice"));
    QTest::keyClicks(dialog->tagEdit(), QStringLiteral("team-a"));
    QTest::keyClicks(dialog->modelsEdit(), QStringLiteral("claude-sonnet-*, *haiku*"));
    dialog->dailyBudgetBox()->setValue(5);
    dialog->okButton()->click();

    const QByteArray secret = waitForNewSecret();
    QVERIFY(VirtualKey::isGeneratedShape(secret));
    NewSecretDialog *shown = visibleChild<NewSecretDialog>(m_page);
    QCOMPARE(shown->setupCommands(),
             QStringLiteral("export ANTHROPIC_BASE_URL=http://127.0.0.1:%1\n"
                            "export ANTHROPIC_API_KEY=%2")
                 .arg(m_harness->port())
                 .arg(QString::fromLatin1(secret)));
    shown->copyButton()->click();
    QCOMPARE(QGuiApplication::clipboard()->text(), QString::fromLatin1(secret));

    QCOMPARE(keychain(KeyStore::Kind::Virtual, QStringLiteral("alice")), secret);
    const QJsonObject alice = settings()
                                  .value(QLatin1String("virtual_keys"))
                                  .toObject()
                                  .value(QLatin1String("alice"))
                                  .toObject();
    QCOMPARE(alice.value(QLatin1String("billing_tag")).toString(), QStringLiteral("team-a"));
    QCOMPARE(alice.value(QLatin1String("models")).toArray(),
             QJsonArray({QStringLiteral("claude-sonnet-*"), QStringLiteral("*haiku*")}));
    QVERIFY(!readAll(m_configPath).contains(secret));
    const int row = rowOf(m_page->virtualModel(), QStringLiteral("alice"));
    QVERIFY(row >= 0);
    QCOMPARE(cell(m_page->virtualModel(), row, VirtualKeysModel::BudgetColumn),
             QStringLiteral("$5.00 a day"));

    // The proxy takes it at once, with its tag.
    QCOMPARE(post(m_harness->gateway(), secret).status, 200);
    QVERIFY(m_harness->waitForRecords(1));
    QCOMPARE(m_harness->records().constLast().virtualKeyAlias, QStringLiteral("alice"));
    QCOMPARE(m_harness->records().constLast().billingTag, QStringLiteral("team-a"));

    // Once closed, it is gone: the page never shows it again.
    shown->close();
    QVERIFY(!showsSecret(m_page, secret));
    QTRY_VERIFY(!m_page->findChild<NewSecretDialog *>());
}

void tst_KeysPageKeychain::rotatingGivesANewSecretAndTheOldOneStopsWorking()
{
    startGateway();
    openPage();
    const QByteArray old = createAndSelectVirtualKey(QStringLiteral("alice"));
    QVERIFY(!old.isEmpty());
    QCOMPARE(post(m_harness->gateway(), old).status, 200);
    button(m_page, QStringLiteral("rotateVirtual"))->click();
    QMessageBox *box = visibleChild<QMessageBox>(m_page);
    QVERIFY(box);
    QVERIFY(box->text().contains(QStringLiteral("stops working")));
    clickButton(box, QStringLiteral("Rotate"));
    const QByteArray renewed = waitForNewSecret();
    QVERIFY(VirtualKey::isGeneratedShape(renewed));
    QVERIFY(renewed != old);
    QVERIFY(m_page->statusText().contains(QStringLiteral("the old secret no longer works")));
    QCOMPARE(keychain(KeyStore::Kind::Virtual, QStringLiteral("alice")), renewed);
    QCOMPARE(post(m_harness->gateway(), old).status, 401);
    QCOMPARE(post(m_harness->gateway(), renewed).status, 200);
}

void tst_KeysPageKeychain::editingChangesWhatTheKeyMayDo()
{
    startGateway();
    openPage();
    const QByteArray secret = createAndSelectVirtualKey(QStringLiteral("alice"));
    QVERIFY(!secret.isEmpty());
    button(m_page, QStringLiteral("editVirtual"))->click();
    VirtualKeyDialog *dialog = visibleChild<VirtualKeyDialog>(m_page);
    QVERIFY(dialog);
    QVERIFY(dialog->aliasEdit()->isReadOnly());
    QCOMPARE(dialog->tagEdit()->text(), QStringLiteral("team-a"));
    QCOMPARE(dialog->dailyBudgetBox()->value(), 5.0);
    QTest::keyClicks(dialog->modelsEdit(), QStringLiteral("claude-haiku-*"));
    dialog->okButton()->click();
    QTRY_VERIFY(m_page->statusText().startsWith(QStringLiteral("Saved the virtual key \"alice\"")));
    const int row = rowOf(m_page->virtualModel(), QStringLiteral("alice"));
    QCOMPARE(cell(m_page->virtualModel(), row, VirtualKeysModel::ModelsColumn),
             QStringLiteral("claude-haiku-*"));
    QCOMPARE(post(m_harness->gateway(), secret, "claude-sonnet-4-6").status, 403);
    QCOMPARE(post(m_harness->gateway(), secret, "claude-haiku-4-5").status, 200);
    QVERIFY(!visibleChild<NewSecretDialog>(m_page)); // same key, nothing new to show

    // Turned off: its clients are refused, and the table says so.
    button(m_page, QStringLiteral("editVirtual"))->click();
    dialog = visibleChild<VirtualKeyDialog>(m_page);
    QVERIFY(dialog);
    dialog->enabledBox()->setChecked(false);
    dialog->okButton()->click();
    QTRY_COMPARE(cell(m_page->virtualModel(), row, VirtualKeysModel::EnabledColumn),
                 QStringLiteral("off"));
    QCOMPARE(post(m_harness->gateway(), secret, "claude-haiku-4-5").status, 401);
    QCOMPARE(settings()
                 .value(QLatin1String("virtual_keys"))
                 .toObject()
                 .value(QLatin1String("alice"))
                 .toObject()
                 .value(QLatin1String("enabled"))
                 .toBool(true),
             false);
    QCOMPARE(keychain(KeyStore::Kind::Virtual, QStringLiteral("alice")), secret);
}

void tst_KeysPageKeychain::removedVirtualKeyIsRefused()
{
    startGateway();
    openPage();
    const QByteArray secret = createAndSelectVirtualKey(QStringLiteral("alice"));
    QVERIFY(!secret.isEmpty());
    button(m_page, QStringLiteral("removeVirtual"))->click();
    QMessageBox *box = visibleChild<QMessageBox>(m_page);
    QVERIFY(box);
    clickButton(box, QStringLiteral("Remove"));
    QTRY_COMPARE(rowOf(m_page->virtualModel(), QStringLiteral("alice")), -1);
    QTRY_VERIFY(!m_page->isBusy());
    QCOMPARE(post(m_harness->gateway(), secret).status, 401);
    QCOMPARE(keychain(KeyStore::Kind::Virtual, QStringLiteral("alice")), std::nullopt);
    QVERIFY(!settings().contains(QLatin1String("virtual_keys")));
}

void tst_KeysPageKeychain::firstStartOffersToImportTheEnvironmentKeyOnce()
{
    qputenv("ANTHROPIC_API_KEY", workKey());
    auto *desktopSettings =
        new DesktopSettings(m_dir->filePath(QStringLiteral("desktop.ini")), std::nullopt, this);
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamKey.clear(); // nothing configured: a first start
    auto app = std::make_unique<DesktopApp>(config, desktopSettings);
    DesktopPages::install(*app, m_configPath, m_service);
    app->start();

    QMessageBox *box = nullptr;
    QTRY_VERIFY((box = visibleChild<QMessageBox>(app->mainWindow())));
    QVERIFY(box->text().contains(QStringLiteral("ANTHROPIC_API_KEY")));
    QVERIFY(box->text().contains(QStringLiteral("sk-ant-api03-…WORK")));
    QVERIFY(!box->text().contains(QString::fromLatin1(workKey())));
    QTRY_COMPARE(app->trayState().proxy(), TrayState::Proxy::On);
    clickButton(box, QStringLiteral("Store in keychain"));

    QTRY_COMPARE(app->config().keychainKeys, QStringList {QStringLiteral("imported")});
    QCOMPARE(keychain(KeyStore::Kind::Upstream, QStringLiteral("imported")), workKey());
    QCOMPARE(settings().value(QLatin1String("upstream_keys")).toArray(),
             QJsonArray({QStringLiteral("imported")}));
    QVERIFY(desktopSettings->hasOfferedKeyImport());
    m_mock->clear();
    QCOMPARE(post(*app->gateway(), GatewayHarness::virtualKey()).status, 200);
    QCOMPARE(m_mock->requests().constLast().header("x-api-key"), workKey());
    app->stopProxy();
    QTRY_COMPARE(app->trayState().proxy(), TrayState::Proxy::Off);
    app.reset();

    // The next start (keys or not) does not ask again.
    app = std::make_unique<DesktopApp>(config, desktopSettings);
    DesktopPages::install(*app, m_configPath, m_service);
    app->start();
    QTRY_COMPARE(app->trayState().proxy(), TrayState::Proxy::On);
    QVERIFY(!visibleChild<QMessageBox>(app->mainWindow()));
    app->stopProxy();
    QTRY_COMPARE(app->trayState().proxy(), TrayState::Proxy::Off);
}

QTEST_MAIN(tst_KeysPageKeychain)
#include "tst_KeysPageKeychain.moc"
