#include "NewSecretDialog.h"

#include "config/ClientSetup.h"

#include <QClipboard>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace tollgate {

NewSecretDialog::NewSecretDialog(const QString &alias, const QByteArray &secret,
                                 const QString &baseUrl, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("The virtual key \"%1\"").arg(alias));
    const QFont fixed = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    auto *layout = new QVBoxLayout(this);
    auto *warning = new QLabel(tr("<b>Copy the key now.</b> Tollgate keeps it in the system "
                                  "keychain and does not show it again; if it is lost, rotate "
                                  "the key for a new one."));
    warning->setObjectName(QStringLiteral("warning"));
    warning->setWordWrap(true);
    layout->addWidget(warning);

    auto *secretRow = new QHBoxLayout;
    m_secret = new QLineEdit(QString::fromLatin1(secret));
    m_secret->setObjectName(QStringLiteral("secret"));
    m_secret->setAccessibleName(tr("The new virtual key"));
    m_secret->setReadOnly(true);
    m_secret->setFont(fixed);
    m_secret->setMinimumWidth(m_secret->fontMetrics().horizontalAdvance(m_secret->text()) + 24);
    secretRow->addWidget(m_secret, 1);
    m_copy = new QPushButton(tr("&Copy"));
    m_copy->setObjectName(QStringLiteral("copy"));
    secretRow->addWidget(m_copy);
    layout->addLayout(secretRow);

    layout->addWidget(new QLabel(tr("Point a client at Tollgate with:")));
    m_commands = new QPlainTextEdit(
        ClientSetup::lines(ClientSetup::platformShell(), baseUrl, QString::fromLatin1(secret)));
    m_commands->setObjectName(QStringLiteral("commands"));
    m_commands->setAccessibleName(tr("Setup commands"));
    m_commands->setReadOnly(true);
    m_commands->setFont(fixed);
    m_commands->setLineWrapMode(QPlainTextEdit::NoWrap);
    // Both lines whole, as they are pasted into a shell.
    const QFontMetrics metrics = m_commands->fontMetrics();
    int widest = 0;
    for (const QString &line : m_commands->toPlainText().split(u'\n'))
        widest = qMax(widest, metrics.horizontalAdvance(line));
    m_commands->setMinimumWidth(widest + 32);
    m_commands->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_commands->setFixedHeight(metrics.lineSpacing() * 2 + 28);
    layout->addWidget(m_commands);

    m_copied = new QLabel;
    m_copied->setObjectName(QStringLiteral("copied"));
    layout->addWidget(m_copied);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    m_copyCommands = buttons->addButton(tr("Copy &setup commands"), QDialogButtonBox::ActionRole);
    m_copyCommands->setObjectName(QStringLiteral("copyCommands"));
    connect(buttons, &QDialogButtonBox::rejected, this, &NewSecretDialog::reject);
    layout->addWidget(buttons);

    connect(m_copy, &QPushButton::clicked, this, [this] {
        QGuiApplication::clipboard()->setText(m_secret->text());
        m_copied->setText(tr("The key is on the clipboard."));
    });
    connect(m_copyCommands, &QPushButton::clicked, this, [this] {
        QGuiApplication::clipboard()->setText(m_commands->toPlainText());
        m_copied->setText(tr("The setup commands are on the clipboard."));
    });
}

NewSecretDialog::~NewSecretDialog()
{
    forget();
}

QString NewSecretDialog::secretText() const
{
    return m_secret->text();
}

QString NewSecretDialog::setupCommands() const
{
    return m_commands->toPlainText();
}

void NewSecretDialog::done(int result)
{
    forget();
    QDialog::done(result);
}

void NewSecretDialog::forget()
{
    m_secret->clear();
    m_commands->clear();
}

} // namespace tollgate
