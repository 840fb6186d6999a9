#include "ProviderDialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>

namespace tollgate {

namespace {
constexpr int kMaxTimeoutSeconds = 86400; // as the settings file allows

QStringList splitList(const QString &text)
{
    static const QRegularExpression separators(QStringLiteral("[,\\s]+"));
    return text.split(separators, Qt::SkipEmptyParts);
}

QString variableName(const QString &text)
{
    QString name = text.trimmed();
    if (name.startsWith(u'$'))
        name.remove(0, 1);
    return name;
}

QString headersText(const QList<QPair<QByteArray, QByteArray>> &headers)
{
    QStringList lines;
    for (const auto &header : headers)
        lines.append(QStringLiteral("%1: %2").arg(QString::fromLatin1(header.first),
                                                  QString::fromLatin1(header.second)));
    return lines.join(u'\n');
}
} // namespace

ProviderDialog::ProviderDialog(Mode mode, const Provider &provider, const QStringList &takenNames,
                               Save save, QWidget *parent)
    : QDialog(parent)
    , m_mode(mode)
    , m_taken(takenNames)
    , m_save(std::move(save))
    , m_isAuthChosen(mode == Mode::Edit)
{
    setWindowTitle(mode == Mode::Add ? tr("Add a provider")
                                     : tr("Edit the provider \"%1\"").arg(provider.name));
    setMinimumWidth(520);
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(tr("A vendor that rules can send requests to. Its keys are upstream "
                                "key aliases (keychain, TOLLGATE_UPSTREAM_KEYS or the key file) "
                                "or an environment variable: the settings file never holds a "
                                "secret."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *form = new QFormLayout;
    m_name = new QLineEdit(provider.name);
    m_name->setObjectName(QStringLiteral("name"));
    m_name->setAccessibleName(tr("Name"));
    m_name->setReadOnly(mode == Mode::Edit);
    m_name->setPlaceholderText(tr("e.g. openrouter"));
    form->addRow(tr("&Name:"), m_name);

    m_kind = new QComboBox;
    m_kind->setObjectName(QStringLiteral("kind"));
    m_kind->setAccessibleName(tr("Kind"));
    m_kind->addItem(tr("Anthropic Messages API"), Provider::kindName(Provider::Kind::Anthropic));
    m_kind->addItem(tr("OpenAI chat completions (translated)"),
                    Provider::kindName(Provider::Kind::OpenAi));
    m_kind->setCurrentIndex(provider.kind == Provider::Kind::OpenAi ? 1 : 0);
    form->addRow(tr("&Kind:"), m_kind);

    m_baseUrl = new QLineEdit(provider.baseUrl.toString());
    m_baseUrl->setObjectName(QStringLiteral("baseUrl"));
    m_baseUrl->setAccessibleName(tr("Base URL"));
    form->addRow(tr("&Base URL:"), m_baseUrl);

    m_auth = new QComboBox;
    m_auth->setObjectName(QStringLiteral("auth"));
    m_auth->setAccessibleName(tr("Key sent as"));
    m_auth->addItem(tr("x-api-key header"), QStringLiteral("x-api-key"));
    m_auth->addItem(tr("Authorization: Bearer"), QStringLiteral("bearer"));
    m_auth->setCurrentIndex(provider.auth == Provider::Auth::Bearer ? 1 : 0);
    form->addRow(tr("Key sent &as:"), m_auth);

    m_keyAliases = new QLineEdit(provider.keyAliases.join(QStringLiteral(", ")));
    m_keyAliases->setObjectName(QStringLiteral("keyAliases"));
    m_keyAliases->setAccessibleName(tr("Key aliases"));
    m_keyAliases->setPlaceholderText(tr("upstream key aliases, e.g. or-main, or-backup"));
    form->addRow(tr("Key a&liases:"), m_keyAliases);

    m_keyVariable = new QLineEdit(provider.keyVariable);
    m_keyVariable->setObjectName(QStringLiteral("keyVariable"));
    m_keyVariable->setAccessibleName(tr("Key environment variable"));
    m_keyVariable->setPlaceholderText(tr("optional, e.g. OPENROUTER_API_KEY"));
    form->addRow(tr("Key &variable:"), m_keyVariable);

    m_headers = new QPlainTextEdit(headersText(provider.headers));
    m_headers->setObjectName(QStringLiteral("headers"));
    m_headers->setAccessibleName(tr("Extra headers"));
    m_headers->setPlaceholderText(tr("one a line, e.g.\nHTTP-Referer: https://example.com\n"
                                     "X-Title: Tollgate"));
    m_headers->setTabChangesFocus(true);
    m_headers->setFixedHeight(m_headers->fontMetrics().lineSpacing() * 4 + 12);
    form->addRow(tr("Extra &headers:"), m_headers);

    m_connect = addTimeoutBox(tr("Connect timeout"), provider.connectTimeoutMs);
    form->addRow(tr("&Connect timeout:"), m_connect);
    m_firstByte = addTimeoutBox(tr("First byte timeout"), provider.firstByteTimeoutMs);
    form->addRow(tr("&First byte timeout:"), m_firstByte);
    m_idle = addTimeoutBox(tr("Idle timeout"), provider.idleTimeoutMs);
    form->addRow(tr("&Idle timeout:"), m_idle);
    layout->addLayout(form);

    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("error"));
    m_error->setAccessibleName(tr("Problem"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();
    layout->addWidget(m_error);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_ok = buttons->addButton(mode == Mode::Add ? tr("Add provider") : tr("Save"),
                              QDialogButtonBox::AcceptRole);
    m_ok->setObjectName(QStringLiteral("ok"));
    m_ok->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &ProviderDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ProviderDialog::reject);
    layout->addWidget(buttons);

    connect(m_kind, &QComboBox::currentIndexChanged, this, &ProviderDialog::onKindChanged);
    connect(m_auth, &QComboBox::activated, this, [this] { m_isAuthChosen = true; });
    connect(m_name, &QLineEdit::textChanged, this, &ProviderDialog::check);
    connect(m_keyVariable, &QLineEdit::textChanged, this, &ProviderDialog::check);
    connect(m_headers, &QPlainTextEdit::textChanged, this, &ProviderDialog::check);
    onKindChanged();
    check();
}

QSpinBox *ProviderDialog::addTimeoutBox(const QString &accessibleName, int ms)
{
    auto *box = new QSpinBox;
    box->setAccessibleName(accessibleName);
    box->setRange(0, kMaxTimeoutSeconds);
    box->setSuffix(tr(" s"));
    box->setSpecialValueText(tr("the gateway's own"));
    box->setValue(ms > 0 ? qMax(1, (ms + 500) / 1000) : 0);
    return box;
}

void ProviderDialog::onKindChanged()
{
    const bool isOpenAi =
        m_kind->currentData().toString() == Provider::kindName(Provider::Kind::OpenAi);
    // What the SDKs of each dialect take as their base.
    m_baseUrl->setPlaceholderText(isOpenAi ? tr("e.g. https://openrouter.ai/api/v1")
                                           : tr("e.g. https://api.anthropic.com"));
    if (!m_isAuthChosen)
        m_auth->setCurrentIndex(isOpenAi ? 1 : 0);
}

QString ProviderDialog::name() const
{
    return m_name->text().trimmed();
}

QJsonObject ProviderDialog::entry() const
{
    QJsonObject headers;
    QString error;
    if (!parseHeaders(m_headers->toPlainText(), &headers, &error))
        return {};
    QJsonObject entry {
        {QStringLiteral("kind"), m_kind->currentData().toString()},
        {QStringLiteral("base_url"), m_baseUrl->text().trimmed()},
        {QStringLiteral("auth"), m_auth->currentData().toString()},
    };
    const QStringList aliases = splitList(m_keyAliases->text());
    if (!aliases.isEmpty())
        entry.insert(QStringLiteral("keys"), QJsonArray::fromStringList(aliases));
    if (const QString variable = variableName(m_keyVariable->text()); !variable.isEmpty())
        entry.insert(QStringLiteral("key_env"), variable);
    if (!headers.isEmpty())
        entry.insert(QStringLiteral("headers"), headers);
    QJsonObject timeouts;
    const struct
    {
        const char *key;
        const QSpinBox *box;
    } fields[] = {{"connect", m_connect}, {"first_byte", m_firstByte}, {"idle", m_idle}};
    for (const auto &field : fields) {
        if (field.box->value() > 0)
            timeouts.insert(QLatin1String(field.key), field.box->value());
    }
    if (!timeouts.isEmpty())
        entry.insert(QStringLiteral("timeouts"), timeouts);
    return entry;
}

bool ProviderDialog::parseHeaders(const QString &text, QJsonObject *headers, QString *error)
{
    const QStringList lines = text.split(u'\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QString line = lines.at(i).trimmed();
        if (line.isEmpty())
            continue;
        const qsizetype colon = line.indexOf(u':');
        const QString name = line.left(colon).trimmed();
        if (colon <= 0 || name.isEmpty()) {
            *error = tr("Header line %1: write it as Name: value.").arg(i + 1);
            return false;
        }
        if (headers->contains(name)) {
            *error = tr("Header line %1: \"%2\" is there twice.").arg(i + 1).arg(name);
            return false;
        }
        headers->insert(name, line.mid(colon + 1).trimmed());
    }
    return true;
}

QString ProviderDialog::errorText() const
{
    return m_error->text();
}

QString ProviderDialog::problem() const
{
    const QString name = this->name();
    if (m_mode == Mode::Add) {
        if (name.isEmpty())
            return tr("Choose a name: rules name the provider by it.");
        if (const QString problem = Provider::nameProblem(name); !problem.isEmpty())
            return problem;
        if (name == Provider::kAnthropic)
            return tr("\"anthropic\" is the built-in provider: change its URL on the Settings "
                      "page and its keys on the Keys page.");
        if (m_taken.contains(name))
            return tr("A provider is already named \"%1\".").arg(name);
    }
    static const QRegularExpression variable(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    const QString keyVariable = variableName(m_keyVariable->text());
    if (!keyVariable.isEmpty() && !variable.match(keyVariable).hasMatch())
        return tr("The key variable is the name of an environment variable, e.g. "
                  "OPENROUTER_API_KEY.");
    QJsonObject headers;
    QString error;
    if (!parseHeaders(m_headers->toPlainText(), &headers, &error))
        return error;
    return {};
}

void ProviderDialog::check()
{
    const QString problem = this->problem();
    const bool isUntouched = m_mode == Mode::Add && m_name->text().isEmpty();
    showError(isUntouched ? QString() : problem);
    m_ok->setEnabled(problem.isEmpty());
}

void ProviderDialog::showError(const QString &error)
{
    m_error->setText(error);
    m_error->setVisible(!error.isEmpty());
}

void ProviderDialog::accept()
{
    if (!problem().isEmpty()) {
        check();
        return;
    }
    if (const QString error = m_save(name(), entry()); !error.isEmpty()) {
        showError(error);
        return;
    }
    QDialog::accept();
}

} // namespace tollgate
