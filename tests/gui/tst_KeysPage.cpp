// The Keys page against a real Gateway and the mock upstream, without the keychain: what
// it shows of the upstream keys (health, last status, rate-limit headroom per key and for
// the pool) and of the virtual keys (limits, budget, spend), turning a key off and on,
// testing a key, and refreshing only while it is visible.
#include "GatewayHarness.h"
#include "KeysPage.h"
#include "KeysPageFixture.h"
#include "LedgerReader.h"
#include "MockUpstream.h"
#include "store/LedgerStore.h"

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;
using namespace tollgate::test::keyspage;

namespace {
constexpr qint64 kCent = 10'000'000'000; // pico-USD

QString number(qint64 value)
{
    return QLocale().toString(value);
}
} // namespace

class tst_KeysPage final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void showsEachKeysHeadroomAndThePoolTotal();
    void refreshesOnlyWhileVisible();
    void turnedOffKeyShowsOffAndRequestsUseTheOther();
    void keyTheUpstreamRejectsShowsAsDisabledWithTheReason();
    void testSaysWhetherTheUpstreamAcceptsTheKey();
    void keysOfTheEnvironmentCannotBeRemovedHere();
    void proxyOffSaysSo();
    void virtualKeysShowLimitsBudgetAndSpend();

private:
    void startGateway(const std::function<void(GatewayConfig &)> &adjust = {});
    void openPage();
    void refreshNow();
    int upstreamRow(const QString &alias) const;

    QTemporaryDir *m_dir = nullptr;
    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_harness = nullptr;
    LedgerReader *m_reader = nullptr;
    KeysPage *m_page = nullptr;
};

void tst_KeysPage::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void tst_KeysPage::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(m_dir->isValid());
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_mock->setHandler(answer);
    m_harness = new GatewayHarness(this);
}

void tst_KeysPage::cleanup()
{
    delete m_page;
    m_page = nullptr;
    if (m_harness)
        QVERIFY(m_harness->stop());
    delete m_harness;
    m_harness = nullptr;
    delete m_reader;
    m_reader = nullptr;
    delete m_mock;
    m_mock = nullptr;
    delete m_dir;
    m_dir = nullptr;
}

void tst_KeysPage::startGateway(const std::function<void(GatewayConfig &)> &adjust)
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamKey.clear();
    config.upstreamKeys = {{QStringLiteral("work"), workKey()}, {QStringLiteral("ci"), ciKey()}};
    config.keychainKeys = {QStringLiteral("work"), QStringLiteral("ci")};
    config.store = StoreConfig::sqlite(m_dir->filePath(QStringLiteral("requests.sqlite")));
    if (adjust)
        adjust(config);
    QVERIFY(m_harness->start(config));
}

void tst_KeysPage::openPage()
{
    m_reader = new LedgerReader(m_harness->gateway().config().store);
    // A service name of its own: nothing here may reach a real keychain entry.
    m_page = new KeysPage(&m_harness->gateway(), m_reader,
                          m_dir->filePath(QStringLiteral("config.json")),
                          QStringLiteral("TollgateTest-KeysPage"));
    new QAbstractItemModelTester(m_page->upstreamModel(),
                                 QAbstractItemModelTester::FailureReportingMode::QtTest, m_page);
    new QAbstractItemModelTester(m_page->virtualModel(),
                                 QAbstractItemModelTester::FailureReportingMode::QtTest, m_page);
    m_page->resize(1100, 700);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page));
}

void tst_KeysPage::refreshNow()
{
    QSignalSpy refreshed(m_page, &KeysPage::statusRefreshed);
    m_page->refresh();
    QVERIFY(refreshed.wait());
}

int tst_KeysPage::upstreamRow(const QString &alias) const
{
    return rowOf(m_page->upstreamModel(), alias);
}

void tst_KeysPage::showsEachKeysHeadroomAndThePoolTotal()
{
    startGateway();
    openPage();
    QAbstractItemModel *model = m_page->upstreamModel();
    QCOMPARE(model->rowCount(), 2);
    const int work = upstreamRow(QStringLiteral("work"));
    QVERIFY(work >= 0);
    QCOMPARE(cell(model, work, UpstreamKeysModel::ProviderColumn), QStringLiteral("anthropic"));
    QCOMPARE(cell(model, work, UpstreamKeysModel::KeyColumn), QStringLiteral("sk-ant-api03-…WORK"));
    QTRY_COMPARE(cell(model, work, UpstreamKeysModel::StateColumn), QStringLiteral("healthy"));
    // Nothing reported yet: no numbers made up.
    QCOMPARE(cell(model, work, UpstreamKeysModel::RequestsColumn), QStringLiteral("—"));
    QVERIFY(m_page->poolText().contains(QStringLiteral("not reported")));

    // Round robin: one request on each key.
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    refreshNow();
    const int ci = upstreamRow(QStringLiteral("ci"));
    QCOMPARE(cell(model, work, UpstreamKeysModel::LastStatusColumn), QStringLiteral("200"));
    QCOMPARE(cell(model, work, UpstreamKeysModel::RequestsColumn), QStringLiteral("49/50"));
    QCOMPARE(cell(model, work, UpstreamKeysModel::TokensColumn),
             number(39000) + u'/' + number(40000));
    QCOMPARE(cell(model, ci, UpstreamKeysModel::RequestsColumn), QStringLiteral("90/100"));
    QCOMPARE(cell(model, ci, UpstreamKeysModel::TokensColumn),
             number(70000) + u'/' + number(80000));
    QCOMPARE(cell(model, work, UpstreamKeysModel::ResetColumn),
             resetTime().toLocalTime().toString(QStringLiteral("HH:mm:ss")));
    QCOMPARE(m_page->poolText(),
             QStringLiteral("Pool: 2 usable keys · requests 139/150 · tokens %1/%2 left")
                 .arg(number(109000), number(120000)));
}

void tst_KeysPage::refreshesOnlyWhileVisible()
{
    startGateway();
    openPage();
    QVERIFY(m_page->isRefreshing());
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QVERIFY(m_harness->waitForRecords(1));
    // No click needed: the page catches up by itself within its interval.
    const int row = upstreamRow(m_harness->records().constFirst().upstreamKeyAlias);
    QTRY_VERIFY_WITH_TIMEOUT(cell(m_page->upstreamModel(), row, UpstreamKeysModel::LastStatusColumn)
                                 == QStringLiteral("200"),
                             KeysPage::kRefreshIntervalMs * 3);

    // Hidden right after an answer: no question of the page's is still on its way.
    QSignalSpy tick(m_page, &KeysPage::statusRefreshed);
    QVERIFY(tick.wait(KeysPage::kRefreshIntervalMs * 2));
    m_page->hide();
    QVERIFY(!m_page->isRefreshing());
    QSignalSpy refreshed(m_page, &KeysPage::statusRefreshed);
    QVERIFY(!refreshed.wait(KeysPage::kRefreshIntervalMs + 500));
    m_page->show();
    QVERIFY(m_page->isRefreshing());
    QVERIFY(refreshed.wait()); // at once when shown again
}

void tst_KeysPage::turnedOffKeyShowsOffAndRequestsUseTheOther()
{
    startGateway();
    openPage();
    const int work = upstreamRow(QStringLiteral("work"));
    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("work")));
    QPushButton *toggle = button(m_page, QStringLiteral("toggleUpstream"));
    QCOMPARE(toggle->text(), QStringLiteral("Turn &off"));
    QVERIFY(toggle->isEnabled());
    toggle->click();
    QTRY_COMPARE(cell(m_page->upstreamModel(), work, UpstreamKeysModel::StateColumn),
                 QStringLiteral("turned off"));
    QCOMPARE(toggle->text(), QStringLiteral("Turn &on"));
    QVERIFY(m_page->statusText().contains(QStringLiteral("requests go to the other keys")));

    m_mock->clear();
    for (int i = 0; i < 4; ++i)
        QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QCOMPARE(m_mock->requests().size(), 4);
    for (const MockRequest &request : m_mock->requests())
        QCOMPARE(request.header("x-api-key"), ciKey());
    refreshNow();
    QVERIFY(m_page->poolText().startsWith(QStringLiteral("Pool: 1 usable key ·")));

    toggle->click();
    QTRY_COMPARE(cell(m_page->upstreamModel(), work, UpstreamKeysModel::StateColumn),
                 QStringLiteral("healthy"));
    QCOMPARE(toggle->text(), QStringLiteral("Turn &off"));
    m_mock->clear();
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    QCOMPARE(m_mock->requests().size(), 2);
    QVERIFY(m_mock->requests().at(0).header("x-api-key")
            != m_mock->requests().at(1).header("x-api-key"));
}

void tst_KeysPage::keyTheUpstreamRejectsShowsAsDisabledWithTheReason()
{
    startGateway([](GatewayConfig &config) {
        config.upstreamKeys = {{QStringLiteral("old"), revokedKey()},
                               {QStringLiteral("ci"), ciKey()}};
        config.keychainKeys = {QStringLiteral("old"), QStringLiteral("ci")};
    });
    openPage();
    // The refused key's request fails over to the other key: the client never sees the 401.
    QCOMPARE(post(m_harness->gateway(), GatewayHarness::virtualKey()).status, 200);
    refreshNow();
    QAbstractItemModel *model = m_page->upstreamModel();
    const int old = upstreamRow(QStringLiteral("old"));
    const QString state = cell(model, old, UpstreamKeysModel::StateColumn);
    QVERIFY2(state.startsWith(QStringLiteral("disabled: The upstream refused this key (HTTP 401 "
                                             "authentication_error)")),
             qPrintable(state));
    QCOMPARE(cell(model, old, UpstreamKeysModel::LastStatusColumn), QStringLiteral("401"));
    QVERIFY(m_page->poolText().startsWith(QStringLiteral("Pool: 1 usable key ·")));

    // Turning it on clears the disable (the user replaced or checked the key).
    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("old")));
    QPushButton *toggle = button(m_page, QStringLiteral("toggleUpstream"));
    QCOMPARE(toggle->text(), QStringLiteral("Turn &on"));
    toggle->click();
    QTRY_COMPARE(cell(model, old, UpstreamKeysModel::StateColumn), QStringLiteral("healthy"));
}

void tst_KeysPage::testSaysWhetherTheUpstreamAcceptsTheKey()
{
    startGateway([](GatewayConfig &config) {
        config.upstreamKeys = {{QStringLiteral("old"), revokedKey()},
                               {QStringLiteral("work"), workKey()}};
        config.keychainKeys.clear(); // from the environment: testable all the same
    });
    openPage();
    QSignalSpy tested(m_page, &KeysPage::keyTested);
    QPushButton *test = button(m_page, QStringLiteral("testUpstream"));
    QVERIFY(!test->isEnabled()); // nothing selected

    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("work")));
    test->click();
    QVERIFY(m_page->testResultText().startsWith(QStringLiteral("Testing \"work\"")));
    QVERIFY(tested.wait());
    QCOMPARE(m_page->testResultText(),
             QStringLiteral("\"work\" works: 127.0.0.1 accepted it (count_tokens answered 200)"));
    const MockRequest &request = m_mock->requests().constLast();
    QCOMPARE(request.target, QByteArray("/v1/messages/count_tokens"));
    QCOMPARE(request.header("x-api-key"), workKey());

    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("old")));
    test->click();
    QVERIFY(tested.wait());
    QCOMPARE(m_page->testResultText(),
             QStringLiteral("\"old\" was rejected by 127.0.0.1 (401, invalid x-api-key). "
                            "Replace it: Add a key under the same alias."));
    // A test is not a request of a client: the proxy's view of the key is unchanged.
    refreshNow();
    QCOMPARE(cell(m_page->upstreamModel(), upstreamRow(QStringLiteral("old")),
                  UpstreamKeysModel::StateColumn),
             QStringLiteral("healthy"));
}

void tst_KeysPage::keysOfTheEnvironmentCannotBeRemovedHere()
{
    startGateway([](GatewayConfig &config) {
        config.keychainKeys = {QStringLiteral("work")};
        config.upstreamKeys = {{QStringLiteral("work"), workKey()}};
        config.upstreamKey = ciKey(); // TOLLGATE_UPSTREAM_KEY: alias "default"
        config.keychainKeys.append(QStringLiteral("lost")); // named, but not in the keychain
    });
    openPage();
    QAbstractItemModel *model = m_page->upstreamModel();
    QCOMPARE(model->rowCount(), 3);
    const int lost = upstreamRow(QStringLiteral("lost"));
    QCOMPARE(cell(model, lost, UpstreamKeysModel::KeyColumn),
             QStringLiteral("(not in the keychain)"));
    QCOMPARE(cell(model, lost, UpstreamKeysModel::StateColumn),
             QStringLiteral("missing: add it again"));
    QPushButton *remove = button(m_page, QStringLiteral("removeUpstream"));
    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("default")));
    QVERIFY(!remove->isEnabled());
    QVERIFY(remove->toolTip().contains(QStringLiteral("environment")));
    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("lost")));
    QVERIFY(remove->isEnabled());
    QVERIFY(!button(m_page, QStringLiteral("testUpstream"))->isEnabled());
}

void tst_KeysPage::proxyOffSaysSo()
{
    startGateway();
    openPage();
    QVERIFY(m_page->selectUpstreamKey(QStringLiteral("work")));
    QTRY_VERIFY(button(m_page, QStringLiteral("toggleUpstream"))->isEnabled());
    QVERIFY(m_harness->stop());
    QCOMPARE(cell(m_page->upstreamModel(), upstreamRow(QStringLiteral("work")),
                  UpstreamKeysModel::StateColumn),
             QStringLiteral("proxy off"));
    QVERIFY(m_page->poolText().startsWith(QStringLiteral("The proxy is off")));
    QVERIFY(!button(m_page, QStringLiteral("toggleUpstream"))->isEnabled());
}

void tst_KeysPage::virtualKeysShowLimitsBudgetAndSpend()
{
    VirtualKey alice;
    alice.alias = QStringLiteral("alice");
    alice.secret = "tg-alice-0123456789abcdef0123456789";
    alice.billingTag = QStringLiteral("team-a");
    alice.models = {QStringLiteral("claude-sonnet-*")};
    alice.limits.requestsPerMinute = 60;
    alice.limits.maxConcurrentStreams = 2;
    alice.budget.dailyPicoUsd = 500 * kCent;
    VirtualKey bob;
    bob.alias = QStringLiteral("bob");
    bob.secret = "tg-bob-0123456789abcdef0123456789ab";
    bob.limits.requestsPerMinute = 0;
    startGateway([&](GatewayConfig &config) {
        config.namedVirtualKeys = {alice, bob};
        config.tagBudgets.insert(QStringLiteral("team-a"), {0, 10000 * kCent});
    });
    // bob spent a dollar earlier today, before this run.
    {
        LedgerStore store(*m_harness->gateway().config().store);
        QString error;
        QVERIFY2(store.open(&error), qPrintable(error));
        RequestRecord row;
        row.startedAt = QDateTime::currentDateTime().addSecs(-1);
        row.method = "POST";
        row.target = "/v1/messages";
        row.status = 200;
        row.model = QStringLiteral("claude-sonnet-4-6");
        row.virtualKeyAlias = QStringLiteral("bob");
        row.costPicoUsd = 100 * kCent;
        QVERIFY2(store.insert({row}, &error), qPrintable(error));
    }
    openPage();
    QAbstractItemModel *model = m_page->virtualModel();
    QCOMPARE(model->rowCount(), 3);
    QCOMPARE(cell(model, 0, VirtualKeysModel::AliasColumn), QStringLiteral("default (built-in)"));
    const int a = rowOf(model, QStringLiteral("alice"));
    const int b = rowOf(model, QStringLiteral("bob"));
    QCOMPARE(cell(model, a, VirtualKeysModel::TagColumn), QStringLiteral("team-a"));
    QCOMPARE(cell(model, a, VirtualKeysModel::ModelsColumn), QStringLiteral("claude-sonnet-*"));
    QCOMPARE(cell(model, a, VirtualKeysModel::LimitsColumn),
             QStringLiteral("60 requests/min · 2 streams"));
    QCOMPARE(cell(model, a, VirtualKeysModel::BudgetColumn), QStringLiteral("$5.00 a day"));
    QCOMPARE(cell(model, a, VirtualKeysModel::EnabledColumn), QStringLiteral("on"));
    QCOMPARE(cell(model, b, VirtualKeysModel::ModelsColumn), QStringLiteral("all models"));
    QCOMPARE(cell(model, b, VirtualKeysModel::LimitsColumn), QStringLiteral("none"));
    QCOMPARE(cell(model, b, VirtualKeysModel::BudgetColumn), QStringLiteral("none"));
    QTRY_COMPARE(cell(model, b, VirtualKeysModel::TodayColumn), QStringLiteral("$1.00"));

    QCOMPARE(post(m_harness->gateway(), alice.secret).status, 200);
    QCOMPARE(post(m_harness->gateway(), bob.secret).status, 200);
    QVERIFY(m_harness->waitForRecords(2));
    refreshNow();
    // alice's budget counts as the proxy does; bob's spend comes from the log and the run.
    QCOMPARE(cell(model, a, VirtualKeysModel::TodayColumn), QStringLiteral("$0.60 of $5.00 (12%)"));
    QCOMPARE(cell(model, a, VirtualKeysModel::MonthColumn), QStringLiteral("$0.60"));
    QTRY_COMPARE(cell(model, b, VirtualKeysModel::TodayColumn), QStringLiteral("$1.60"));
    QCOMPARE(cell(model, b, VirtualKeysModel::MonthColumn), QStringLiteral("$1.60"));
    auto *tagBudgets = m_page->findChild<QLabel *>(QStringLiteral("tagBudgets"));
    QVERIFY(tagBudgets->isVisible());
    QVERIFY2(tagBudgets->text().contains(QStringLiteral("billing tag \"team-a\"")),
             qPrintable(tagBudgets->text()));

    // The built-in key is the key file's: nothing to rotate, edit or remove here.
    m_page->virtualView()->selectRow(0);
    QVERIFY(!button(m_page, QStringLiteral("rotateVirtual"))->isEnabled());
    QVERIFY(!button(m_page, QStringLiteral("editVirtual"))->isEnabled());
    QVERIFY(m_page->selectVirtualKey(QStringLiteral("alice")));
    QVERIFY(button(m_page, QStringLiteral("editVirtual"))->isEnabled());
}

QTEST_MAIN(tst_KeysPage)
#include "tst_KeysPage.moc"
