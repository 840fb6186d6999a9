#include "KeychainRunner.h"

namespace tollgate {

KeychainRunner::KeychainRunner(const QString &service, QObject *parent)
    : QObject(parent)
    , m_service(service)
{
    // One at a time: a change and the read after it must not overtake each other.
    m_pool.setMaxThreadCount(1);
    m_pool.setObjectName(QStringLiteral("tollgate-keychain-jobs"));
}

KeychainRunner::~KeychainRunner()
{
    // A job waiting for an unlock prompt is answered within KeyStore::kAnswerTimeout.
    m_pool.waitForDone();
}

void KeychainRunner::startJob()
{
    if (m_running++ == 0)
        emit busyChanged(true);
}

void KeychainRunner::finishJob()
{
    if (--m_running == 0)
        emit busyChanged(false);
}

} // namespace tollgate
