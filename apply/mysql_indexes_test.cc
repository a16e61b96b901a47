#include <gtest/gtest.h>

#include "secondary_indexes.h"

namespace stagesync::apply {
namespace {

const char* kCreate =
    "CREATE TABLE `child` (\n"
    "  `id` int(11) NOT NULL,\n"
    "  `parent_id` int(11) DEFAULT NULL,\n"
    "  `code` varchar(20) NOT NULL,\n"
    "  `body` text DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`),\n"
    "  UNIQUE KEY `uk_code` (`code`),\n"
    "  KEY `ix_parent` (`parent_id`) COMMENT 'by parent',\n"
    "  KEY `ix``odd` (`code`(5)),\n"
    "  FULLTEXT KEY `ft_body` (`body`),\n"
    "  CONSTRAINT `fk_parent` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) ON DELETE "
    "CASCADE,\n"
    "  CONSTRAINT `fk_other` FOREIGN KEY (`code`) REFERENCES `otherdb`.`codes` (`code`),\n"
    "  CONSTRAINT `positive` CHECK (`id` > 0)\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

TEST(MysqlIndexesOf, EveryKeyAndForeignKeyWithItsOwnDefinitionForeignKeysLast) {
  auto found = MysqlIndexesOf("app", "child", kCreate, false);
  ASSERT_EQ(found.size(), 6u);
  EXPECT_EQ(found[0].Shown(), "unique index uk_code on app.child");
  EXPECT_EQ(found[0].create_sql, "ALTER TABLE `app`.`child` ADD UNIQUE KEY `uk_code` (`code`)");
  EXPECT_EQ(found[0].drop_sql, "ALTER TABLE `app`.`child` DROP INDEX `uk_code`");
  EXPECT_EQ(found[1].create_sql,
            "ALTER TABLE `app`.`child` ADD KEY `ix_parent` (`parent_id`) COMMENT 'by parent'");
  EXPECT_EQ(found[2].name, "ix`odd");
  EXPECT_EQ(found[2].drop_sql, "ALTER TABLE `app`.`child` DROP INDEX `ix``odd`");
  EXPECT_EQ(found[3].kind, "fulltext index");
  EXPECT_EQ(found[4].Shown(), "foreign key fk_parent on app.child");
  // A bare REFERENCES names the table's own database, whatever the connection's is.
  EXPECT_EQ(found[4].create_sql,
            "ALTER TABLE `app`.`child` ADD CONSTRAINT `fk_parent` FOREIGN KEY (`parent_id`) "
            "REFERENCES `app`.`parent` (`id`) ON DELETE CASCADE");
  EXPECT_EQ(found[4].drop_sql, "ALTER TABLE `app`.`child` DROP FOREIGN KEY `fk_parent`");
  EXPECT_EQ(found[5].create_sql,
            "ALTER TABLE `app`.`child` ADD CONSTRAINT `fk_other` FOREIGN KEY (`code`) "
            "REFERENCES `otherdb`.`codes` (`code`)");
}

TEST(MysqlIndexesOf, UniqueKeysStayWhenAskedOrWithoutAPrimaryKey) {
  for (const auto& i : MysqlIndexesOf("app", "child", kCreate, true)) {
    EXPECT_NE(i.kind, "unique index");
  }
  std::string keyless = kCreate;
  keyless.erase(keyless.find("  PRIMARY KEY (`id`),\n"), 22);
  auto found = MysqlIndexesOf("app", "child", keyless, false);
  ASSERT_EQ(found.size(), 5u);
  EXPECT_EQ(found[0].name, "ix_parent");
}

}  // namespace
}  // namespace stagesync::apply
