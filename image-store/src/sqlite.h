// A thin RAII layer over the SQLite C API: a connection, prepared statements and transactions,
// with errors as zoned::Error naming the statement. Not thread-safe: callers serialise use of
// one Database (ImageDb holds a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace zoned::image_store::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql) : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1, as in SQL ("?1").
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);

  // True while there is a row to read, false when done.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Status run();

  std::string text(int column) const;
  int64_t int64(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  int bind_error_ = 0;
};

class Database {
 public:
  // Opens or creates the file (read-write, no shared cache, no internal mutex).
  static Result<Database> open(const std::string& path);
  Database(Database&& other) noexcept;
  Database& operator=(Database&&) = delete;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  Result<int64_t> query_int(std::string_view sql);

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE on construction; rolls back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace zoned::image_store::sqlite
