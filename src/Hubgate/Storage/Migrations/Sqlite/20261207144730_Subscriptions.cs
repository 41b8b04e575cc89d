using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Subscriptions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "FannedOut",
                table: "webhook_deliveries",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "RepositoryFullName",
                table: "webhook_deliveries",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "subscription_deliveries",
                columns: table => new
                {
                    Subscription = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    DeliverySeq = table.Column<long>(type: "INTEGER", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    AttemptsAtReplay = table.Column<int>(type: "INTEGER", nullable: false),
                    NextAttemptAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LeaseOwner = table.Column<string>(type: "TEXT", nullable: true),
                    LeaseExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", nullable: true),
                    LastStatus = table.Column<int>(type: "INTEGER", nullable: true),
                    IgnoredReason = table.Column<string>(type: "TEXT", nullable: true),
                    ProcessedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    OrderKey = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_subscription_deliveries", x => new { x.Subscription, x.DeliverySeq });
                });

            migrationBuilder.CreateTable(
                name: "subscriptions",
                columns: table => new
                {
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    DefinitionJson = table.Column<string>(type: "TEXT", nullable: false),
                    SecretProtected = table.Column<string>(type: "TEXT", nullable: true),
                    Source = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    DisabledReason = table.Column<string>(type: "TEXT", nullable: true),
                    FailingSince = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_subscriptions", x => x.Name);
                });

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_not_fanned_out",
                table: "webhook_deliveries",
                columns: new[] { "FannedOut", "Id" },
                filter: "NOT \"FannedOut\"");

            migrationBuilder.CreateIndex(
                name: "IX_subscription_deliveries_DeliverySeq",
                table: "subscription_deliveries",
                column: "DeliverySeq");

            migrationBuilder.CreateIndex(
                name: "IX_subscription_deliveries_Subscription_OrderKey_DeliverySeq",
                table: "subscription_deliveries",
                columns: new[] { "Subscription", "OrderKey", "DeliverySeq" });

            migrationBuilder.CreateIndex(
                name: "IX_subscription_deliveries_Subscription_State_NextAttemptAt_DeliverySeq",
                table: "subscription_deliveries",
                columns: new[] { "Subscription", "State", "NextAttemptAt", "DeliverySeq" });

            // What became of each delivery so far is the built-in subscription's (the model and the in-process handlers):
            // its state moves into that subscription's rows, and every stored delivery counts as handed out.
            migrationBuilder.Sql(
                "INSERT INTO subscription_deliveries (\"Subscription\", \"DeliverySeq\", \"State\", \"Attempts\", \"AttemptsAtReplay\", " +
                "\"NextAttemptAt\", \"LeaseOwner\", \"LeaseExpiresAt\", \"LastError\", \"IgnoredReason\", \"ProcessedAt\") " +
                "SELECT 'local', \"Id\", \"State\", \"Attempts\", \"AttemptsAtReplay\", \"NextAttemptAt\", \"LeaseOwner\", " +
                "\"LeaseExpiresAt\", \"LastError\", \"IgnoredReason\", \"ProcessedAt\" FROM webhook_deliveries");

            migrationBuilder.Sql("UPDATE webhook_deliveries SET \"FannedOut\" = 1");

            migrationBuilder.DropIndex(
                name: "IX_webhook_deliveries_State_NextAttemptAt_Id",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "Attempts",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "AttemptsAtReplay",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "IgnoredReason",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "LastError",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "LeaseExpiresAt",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "LeaseOwner",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "ProcessedAt",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "State",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "NextAttemptAt",
                table: "webhook_deliveries");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "subscription_deliveries");

            migrationBuilder.DropTable(
                name: "subscriptions");

            migrationBuilder.DropIndex(
                name: "IX_webhook_deliveries_not_fanned_out",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "RepositoryFullName",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "FannedOut",
                table: "webhook_deliveries");

            migrationBuilder.AddColumn<long>(
                name: "NextAttemptAt",
                table: "webhook_deliveries",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "webhook_deliveries",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "AttemptsAtReplay",
                table: "webhook_deliveries",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "IgnoredReason",
                table: "webhook_deliveries",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastError",
                table: "webhook_deliveries",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "LeaseExpiresAt",
                table: "webhook_deliveries",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LeaseOwner",
                table: "webhook_deliveries",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ProcessedAt",
                table: "webhook_deliveries",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "State",
                table: "webhook_deliveries",
                type: "TEXT",
                maxLength: 32,
                nullable: false,
                defaultValue: "");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_State_NextAttemptAt_Id",
                table: "webhook_deliveries",
                columns: new[] { "State", "NextAttemptAt", "Id" });
        }
    }
}
