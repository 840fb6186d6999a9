#include "UpstreamKeyDialog.h"

#include "keys/KeyStore.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>

namespace tollgate {

UpstreamKeyDialog::UpstreamKeyDialog(const QStringList &takenAliases,
                                     const QStringList &keychainAliases, QWidget *parent)
    : QDialog(parent)
    , m_taken(takenAliases)
    , m_keychain(keychainAliases)
{
    setWindowTitle(tr("Add an upstream key"));
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(tr("The key goes into the system keychain; the settings file only "
                                "names it. Tollgate never shows it again."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *form = new QFormLayout;
    m_alias = new QLineEdit;
    m_alias->setObjectName(QStringLiteral("alias"));
    m_alias->setAccessibleName(tr("Alias"));
    m_alias->setPlaceholderText(tr("e.g. work"));
    m_alias->setMaxLength(KeyStore::kMaxAliasLength);
    form->addRow(tr("&Alias:"), m_alias);
    m_key = new QLineEdit;
    m_key->setObjectName(QStringLiteral("key"));
    m_key->setAccessibleName(tr("Anthropic API key"));
    m_key->setEchoMode(QLineEdit::Password);
    m_key->setPlaceholderText(QStringLiteral("sk-ant-api03-…"));
    m_key->setMaxLength(4096);
    // Room for a whole Anthropic key (108 characters) without scrolling.
    m_key->setMinimumWidth(m_key->fontMetrics().averageCharWidth() * 60);
    form->addRow(tr("API &key:"), m_key);
    layout->addLayout(form);

    m_note = new QLabel;
    m_note->setObjectName(QStringLiteral("note"));
    m_note->setWordWrap(true);
    m_note->hide();
    layout->addWidget(m_note);
    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("error"));
    m_error->setWordWrap(true);
    m_error->setAccessibleName(tr("Problem"));
    m_error->hide();
    layout->addWidget(m_error);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_store = buttons->addButton(tr("Store in keychain"), QDialogButtonBox::AcceptRole);
    m_store->setObjectName(QStringLiteral("store"));
    m_store->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &UpstreamKeyDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &UpstreamKeyDialog::reject);
    layout->addWidget(buttons);

    connect(m_alias, &QLineEdit::textChanged, this, &UpstreamKeyDialog::check);
    connect(m_key, &QLineEdit::textChanged, this, &UpstreamKeyDialog::check);
    check();
}

UpstreamKeyDialog::~UpstreamKeyDialog()
{
    m_key->clear();
}

QString UpstreamKeyDialog::errorText() const
{
    return m_error->text();
}

QString UpstreamKeyDialog::keyProblem(const QString &key)
{
    if (key.isEmpty())
        return tr("Paste the API key.");
    if (std::any_of(key.begin(), key.end(), [](QChar c) { return c <= u' ' || c > u'~'; }))
        return tr("That is not an API key: it has spaces or characters outside printable "
                  "ASCII.");
    return {};
}

QString UpstreamKeyDialog::problem() const
{
    const QString alias = m_alias->text();
    if (alias.isEmpty())
        return tr("Choose an alias: it names the key in the settings, the request log and the "
                  "tray.");
    if (const QString problem = KeyStore::aliasProblem(alias); !problem.isEmpty())
        return problem;
    if (m_taken.contains(alias))
        return tr("A key from the environment or a key file is already named \"%1\": choose "
                  "another alias.")
            .arg(alias);
    return keyProblem(m_key->text().trimmed());
}

void UpstreamKeyDialog::check()
{
    const QString problem = this->problem();
    // An empty form is not an error yet.
    const bool isUntouched = m_alias->text().isEmpty() && m_key->text().isEmpty();
    m_error->setText(isUntouched ? QString() : problem);
    m_error->setVisible(!isUntouched && !problem.isEmpty());
    m_store->setEnabled(problem.isEmpty());
    const bool replaces = m_keychain.contains(m_alias->text());
    m_note->setText(replaces ? tr("This replaces the key stored as \"%1\".").arg(m_alias->text())
                             : QString());
    m_note->setVisible(replaces);
}

void UpstreamKeyDialog::accept()
{
    if (!problem().isEmpty()) {
        check();
        return;
    }
    const QString alias = m_alias->text();
    const QByteArray key = m_key->text().trimmed().toLatin1();
    m_key->clear();
    QDialog::accept();
    emit keyEntered(alias, key);
}

void UpstreamKeyDialog::reject()
{
    m_key->clear();
    QDialog::reject();
}

} // namespace tollgate
