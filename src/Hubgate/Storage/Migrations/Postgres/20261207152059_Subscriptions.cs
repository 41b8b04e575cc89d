using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
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
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "RepositoryFullName",
                table: "webhook_deliveries",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "subscription_deliveries",
                columns: table => new
                {
                    Subscription = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    DeliverySeq = table.Column<long>(type: "bigint", nullable: false),
                    State = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    AttemptsAtReplay = table.Column<int>(type: "integer", nullable: false),
                    NextAttemptAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LeaseOwner = table.Column<string>(type: "text", nullable: true),
                    LeaseExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    LastError = table.Column<string>(type: "text", nullable: true),
                    LastStatus = table.Column<int>(type: "integer", nullable: true),
                    IgnoredReason = table.Column<string>(type: "text", nullable: true),
                    ProcessedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    OrderKey = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_subscription_deliveries", x => new { x.Subscription, x.DeliverySeq });
                });

            migrationBuilder.CreateTable(
                name: "subscriptions",
                columns: table => new
                {
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    DefinitionJson = table.Column<string>(type: "text", nullable: false),
                    SecretProtected = table.Column<string>(type: "text", nullable: true),
                    Source = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    DisabledReason = table.Column<string>(type: "text", nullable: true),
                    FailingSince = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
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
                name: "IX_subscription_deliveries_Subscription_State_NextAttemptAt_De~",
                table: "subscription_deliveries",
                columns: new[] { "Subscription", "State", "NextAttemptAt", "DeliverySeq" });

            // What became of each delivery so far is the built-in subscription's (the model and the in-process handlers):
            // its state moves into that subscription's rows, and every stored delivery counts as handed out.
            migrationBuilder.Sql(
                "INSERT INTO subscription_deliveries (\"Subscription\", \"DeliverySeq\", \"State\", \"Attempts\", \"AttemptsAtReplay\", " +
                "\"NextAttemptAt\", \"LeaseOwner\", \"LeaseExpiresAt\", \"LastError\", \"IgnoredReason\", \"ProcessedAt\") " +
                "SELECT 'local', \"Id\", \"State\", \"Attempts\", \"AttemptsAtReplay\", \"NextAttemptAt\", \"LeaseOwner\", " +
                "\"LeaseExpiresAt\", \"LastError\", \"IgnoredReason\", \"ProcessedAt\" FROM webhook_deliveries");

            migrationBuilder.Sql("UPDATE webhook_deliveries SET \"FannedOut\" = TRUE");

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
                name: "NextAttemptAt",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "ProcessedAt",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "State",
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
                name: "FannedOut",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "RepositoryFullName",
                table: "webhook_deliveries");

            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "webhook_deliveries",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "AttemptsAtReplay",
                table: "webhook_deliveries",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "IgnoredReason",
                table: "webhook_deliveries",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastError",
                table: "webhook_deliveries",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LeaseExpiresAt",
                table: "webhook_deliveries",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LeaseOwner",
                table: "webhook_deliveries",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "NextAttemptAt",
                table: "webhook_deliveries",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTimeOffset(new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified), new TimeSpan(0, 0, 0, 0, 0)));

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ProcessedAt",
                table: "webhook_deliveries",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "State",
                table: "webhook_deliveries",
                type: "character varying(32)",
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
