#include "sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace zoned::image_store::sqlite {
namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  ErrorCode code = ErrorCode::kInternal;
  int primary = rc & 0xff;
  if (primary == SQLITE_FULL) code = ErrorCode::kResourceExhausted;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kUnavailable;
  if (primary == SQLITE_READONLY || primary == SQLITE_PERM || primary == SQLITE_CANTOPEN) {
    code = ErrorCode::kPermissionDenied;
  }
  return Error(code, "sqlite: " + std::string(what) + ": " + detail);
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      sql_(std::move(other.sql_)),
      bind_error_(other.bind_error_) {}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> Statement::step() {
  if (bind_error_ != 0) return sqlite_error(db_, bind_error_, "binding parameters of: " + sql_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, sql_);
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row.ok()) return std::move(row).take_error();
    if (!*row) return ok_status();
  }
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
}

int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

Result<Database> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error = sqlite_error(db, rc, "opening " + path);
    sqlite3_close(db);
    return error;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return Database(db);
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database::~Database() {
  sqlite3_close(db_);
}

Status Database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return ok_status();
  std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Error(ErrorCode::kInternal, "sqlite: " + text.substr(0, 80) + ": " + detail);
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "preparing: " + std::string(sql));
  return Statement(db_, stmt, std::string(sql));
}

Result<int64_t> Database::query_int(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt.ok()) return std::move(stmt).take_error();
  auto row = stmt->step();
  if (!row.ok()) return std::move(row).take_error();
  if (!*row) return Error(ErrorCode::kInternal, "sqlite: no result from: " + std::string(sql));
  return stmt->int64(0);
}

Result<Transaction> Transaction::begin(Database& db) {
  ZONED_TRY(db.exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  ZONED_TRY(db_->exec("COMMIT"));
  db_ = nullptr;
  return ok_status();
}

}  // namespace zoned::image_store::sqlite
