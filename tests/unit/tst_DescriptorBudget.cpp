#include "DescriptorBudget.h"

#include <QTest>
#include <QThread>
#include <algorithm>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace tollgate;

// A gateway started with a low open-file limit (1024 on Linux desktops, 256 on macOS) must
// still hold hundreds of streams, each of which takes two descriptors.
class tst_DescriptorBudget : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void raisesTheSoftLimitAndGrowsTheTable();
    void holdsAThousandSocketsFromAThreadedProcess();
    void isIdempotent();

private:
    rlim_t m_hard = 0;
};

void tst_DescriptorBudget::initTestCase()
{
    rlimit limit = {};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    m_hard = limit.rlim_max;
    if (m_hard != RLIM_INFINITY && m_hard < 2048)
        QSKIP("the hard open-file limit of this machine is below 2048");
    // Start as a desktop session would.
    limit.rlim_cur = 256;
    QCOMPARE(setrlimit(RLIMIT_NOFILE, &limit), 0);
}

void tst_DescriptorBudget::raisesTheSoftLimitAndGrowsTheTable()
{
    const DescriptorBudget budget = reserveDescriptors();
    const int expected = m_hard == RLIM_INFINITY
        ? DescriptorBudget::kWantedDescriptors
        : int(std::min<rlim_t>(m_hard, DescriptorBudget::kWantedDescriptors));
    rlimit limit = {};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    QCOMPARE(int(limit.rlim_cur), expected);
    QCOMPARE(budget.softLimit, expected);
    QCOMPARE(budget.tableSize, expected);
    // The placeholder descriptor was given back.
    QCOMPARE(fcntl(expected - 1, F_GETFD), -1);
}

void tst_DescriptorBudget::holdsAThousandSocketsFromAThreadedProcess()
{
    // Other threads exist, as in the app: the proxy thread opens the sockets.
    std::vector<int> descriptors;
    bool ok = true;
    QThread *opener = QThread::create([&] {
        for (int i = 0; i < 500 && ok; ++i) {
            int pair[2];
            ok = socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0;
            if (ok) {
                descriptors.push_back(pair[0]);
                descriptors.push_back(pair[1]);
            }
        }
    });
    opener->start();
    QVERIFY(opener->wait(10000));
    delete opener;
    const size_t opened = descriptors.size();
    for (int fd : descriptors)
        ::close(fd);
    QVERIFY2(ok, "socketpair failed before 1000 descriptors were open");
    QCOMPARE(opened, size_t(1000));
}

void tst_DescriptorBudget::isIdempotent()
{
    const DescriptorBudget first = reserveDescriptors();
    const DescriptorBudget second = reserveDescriptors();
    QCOMPARE(second.softLimit, first.softLimit);
    QCOMPARE(second.tableSize, first.tableSize);
}

QTEST_GUILESS_MAIN(tst_DescriptorBudget)
#include "tst_DescriptorBudget.moc"
