#include "VirtualKeyDialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>

namespace tollgate {

namespace {
constexpr double kPicoPerUsd = 1e12;
constexpr double kMaxBudgetUsd = 1e6; // as the settings file allows
} // namespace

VirtualKeyDialog::VirtualKeyDialog(Mode mode, const VirtualKey &key,
                                   const QStringList &takenAliases, QWidget *parent)
    : QDialog(parent)
    , m_mode(mode)
    , m_taken(takenAliases)
{
    setWindowTitle(mode == Mode::Create ? tr("Create a virtual key")
                                        : tr("Edit the virtual key \"%1\"").arg(key.alias));
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(
        mode == Mode::Create
            ? tr("A virtual key is what a client (a person, a project, a CI job) sets as "
                 "ANTHROPIC_API_KEY. Tollgate makes the key itself and shows it once.")
            : tr("Changes apply to the running proxy at once; the key itself stays the same."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *form = new QFormLayout;
    m_alias = new QLineEdit(key.alias);
    m_alias->setObjectName(QStringLiteral("alias"));
    m_alias->setAccessibleName(tr("Alias"));
    m_alias->setReadOnly(mode == Mode::Edit);
    m_alias->setPlaceholderText(tr("e.g. alice or ci"));
    form->addRow(tr("&Alias:"), m_alias);
    m_tag = new QLineEdit(key.billingTag);
    m_tag->setObjectName(QStringLiteral("tag"));
    m_tag->setAccessibleName(tr("Billing tag"));
    m_tag->setPlaceholderText(tr("optional, e.g. team-a"));
    form->addRow(tr("Billing &tag:"), m_tag);
    m_models = new QLineEdit(key.models.join(QStringLiteral(", ")));
    m_models->setObjectName(QStringLiteral("models"));
    m_models->setAccessibleName(tr("Models"));
    m_models->setPlaceholderText(tr("all models; or e.g. claude-sonnet-*, *haiku*"));
    form->addRow(tr("&Models:"), m_models);

    m_requests = addCountBox(tr("Requests per minute"), key.limits.requestsPerMinute,
                             RateLimiter::kMaxPerMinute);
    form->addRow(tr("&Requests per minute:"), m_requests);
    m_inputTokens = addCountBox(tr("Input tokens per minute"), key.limits.inputTokensPerMinute,
                                RateLimiter::kMaxPerMinute);
    form->addRow(tr("&Input tokens per minute:"), m_inputTokens);
    m_outputTokens = addCountBox(tr("Output tokens per minute"), key.limits.outputTokensPerMinute,
                                 RateLimiter::kMaxPerMinute);
    form->addRow(tr("&Output tokens per minute:"), m_outputTokens);
    m_streams = addCountBox(tr("Concurrent streams"), key.limits.maxConcurrentStreams, 10000);
    form->addRow(tr("Concurrent &streams:"), m_streams);
    m_daily = addUsdBox(tr("Daily budget"), key.budget.dailyPicoUsd);
    form->addRow(tr("&Daily budget:"), m_daily);
    m_monthly = addUsdBox(tr("Monthly budget"), key.budget.monthlyPicoUsd);
    form->addRow(tr("Mont&hly budget:"), m_monthly);
    m_enabled = new QCheckBox(tr("&Enabled: clients may use this key"));
    m_enabled->setObjectName(QStringLiteral("enabled"));
    m_enabled->setChecked(key.isEnabled);
    form->addRow(QString(), m_enabled);
    m_injectsCache = new QCheckBox(tr("Add &cache markers to this key's requests"));
    m_injectsCache->setObjectName(QStringLiteral("injectsCache"));
    m_injectsCache->setChecked(key.injectsCache);
    m_injectsCache->setToolTip(
        tr("Where the Prompt cache setting is on. Turn it off for a client that places its "
           "own markers and wants its requests forwarded byte for byte."));
    form->addRow(QString(), m_injectsCache);
    layout->addLayout(form);

    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("error"));
    m_error->setAccessibleName(tr("Problem"));
    m_error->setWordWrap(true);
    m_error->hide();
    layout->addWidget(m_error);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_ok = buttons->addButton(mode == Mode::Create ? tr("Create key") : tr("Save"),
                              QDialogButtonBox::AcceptRole);
    m_ok->setObjectName(QStringLiteral("ok"));
    m_ok->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &VirtualKeyDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &VirtualKeyDialog::reject);
    layout->addWidget(buttons);

    connect(m_alias, &QLineEdit::textChanged, this, &VirtualKeyDialog::check);
    connect(m_models, &QLineEdit::textChanged, this, &VirtualKeyDialog::check);
    check();
}

QSpinBox *VirtualKeyDialog::addCountBox(const QString &accessibleName, qint64 value, qint64 maximum)
{
    auto *box = new QSpinBox;
    box->setAccessibleName(accessibleName);
    box->setRange(0, int(maximum));
    box->setSpecialValueText(tr("no limit"));
    box->setGroupSeparatorShown(true);
    box->setValue(int(qBound<qint64>(0, value, maximum)));
    return box;
}

QDoubleSpinBox *VirtualKeyDialog::addUsdBox(const QString &accessibleName, qint64 picoUsd)
{
    auto *box = new QDoubleSpinBox;
    box->setAccessibleName(accessibleName);
    box->setRange(0, kMaxBudgetUsd);
    box->setDecimals(2);
    box->setPrefix(QStringLiteral("$"));
    box->setSpecialValueText(tr("no budget"));
    box->setGroupSeparatorShown(true);
    box->setValue(double(picoUsd) / kPicoPerUsd);
    return box;
}

QStringList VirtualKeyDialog::parseModels(const QString &text)
{
    static const QRegularExpression separators(QStringLiteral("[,\\s]+"));
    return text.split(separators, Qt::SkipEmptyParts);
}

VirtualKey VirtualKeyDialog::key() const
{
    VirtualKey key;
    key.alias = m_alias->text().trimmed();
    key.billingTag = m_tag->text().trimmed();
    key.models = parseModels(m_models->text());
    key.limits.requestsPerMinute = m_requests->value();
    key.limits.inputTokensPerMinute = m_inputTokens->value();
    key.limits.outputTokensPerMinute = m_outputTokens->value();
    key.limits.maxConcurrentStreams = m_streams->value();
    key.budget.dailyPicoUsd = qint64(std::llround(m_daily->value() * kPicoPerUsd));
    key.budget.monthlyPicoUsd = qint64(std::llround(m_monthly->value() * kPicoPerUsd));
    key.isEnabled = m_enabled->isChecked();
    key.injectsCache = m_injectsCache->isChecked();
    return key;
}

QString VirtualKeyDialog::errorText() const
{
    return m_error->text();
}

QString VirtualKeyDialog::problem() const
{
    if (m_mode == Mode::Edit)
        return {};
    const QString alias = m_alias->text().trimmed();
    if (alias.isEmpty())
        return tr("Choose an alias: it names the key in the request log and on this page.");
    if (const QString problem = VirtualKey::aliasProblem(alias); !problem.isEmpty())
        return problem;
    if (m_taken.contains(alias))
        return tr("A virtual key is already named \"%1\".").arg(alias);
    return {};
}

void VirtualKeyDialog::check()
{
    const QString problem = this->problem();
    const bool isUntouched = m_mode == Mode::Create && m_alias->text().isEmpty();
    m_error->setText(isUntouched ? QString() : problem);
    m_error->setVisible(!isUntouched && !problem.isEmpty());
    m_ok->setEnabled(problem.isEmpty());
}

void VirtualKeyDialog::accept()
{
    if (!problem().isEmpty()) {
        check();
        return;
    }
    const VirtualKey entered = key();
    QDialog::accept();
    emit keyEntered(entered);
}

} // namespace tollgate
