using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class IntegrationModel : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "IgnoredReason",
                table: "webhook_deliveries",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LastPushAt",
                table: "repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastPushRef",
                table: "repositories",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastPushSha",
                table: "repositories",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "GitHubUpdatedAt",
                table: "pull_requests",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "DeletedAt",
                table: "installations",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "SuspendedAt",
                table: "installations",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "SyncedAt",
                table: "installations",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "pushes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RepositoryId = table.Column<long>(type: "bigint", nullable: false),
                    DeliveryId = table.Column<string>(type: "text", nullable: false),
                    Ref = table.Column<string>(type: "text", nullable: false),
                    Before = table.Column<string>(type: "text", nullable: true),
                    After = table.Column<string>(type: "text", nullable: true),
                    HeadCommitSha = table.Column<string>(type: "text", nullable: true),
                    Created = table.Column<bool>(type: "boolean", nullable: false),
                    Deleted = table.Column<bool>(type: "boolean", nullable: false),
                    Forced = table.Column<bool>(type: "boolean", nullable: false),
                    PusherName = table.Column<string>(type: "text", nullable: true),
                    CommitsStored = table.Column<int>(type: "integer", nullable: false),
                    ReceivedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pushes", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_pushes_DeliveryId",
                table: "pushes",
                column: "DeliveryId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pushes_RepositoryId_Id",
                table: "pushes",
                columns: new[] { "RepositoryId", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "pushes");

            migrationBuilder.DropColumn(
                name: "IgnoredReason",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "LastPushAt",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "LastPushRef",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "LastPushSha",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "GitHubUpdatedAt",
                table: "pull_requests");

            migrationBuilder.DropColumn(
                name: "DeletedAt",
                table: "installations");

            migrationBuilder.DropColumn(
                name: "SuspendedAt",
                table: "installations");

            migrationBuilder.DropColumn(
                name: "SyncedAt",
                table: "installations");
        }
    }
}
