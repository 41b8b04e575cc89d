using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RecoveryRequests : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "recovery_requests",
                columns: table => new
                {
                    DeliveryGuid = table.Column<string>(type: "text", nullable: false),
                    Event = table.Column<string>(type: "text", nullable: false),
                    Action = table.Column<string>(type: "text", nullable: true),
                    HookDeliveryId = table.Column<long>(type: "bigint", nullable: false),
                    FirstRequestedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LastRequestedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Requests = table.Column<int>(type: "integer", nullable: false),
                    Outcome = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    StatusCode = table.Column<int>(type: "integer", nullable: true),
                    Error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_recovery_requests", x => x.DeliveryGuid);
                });

            migrationBuilder.CreateIndex(
                name: "IX_recovery_requests_LastRequestedAt",
                table: "recovery_requests",
                column: "LastRequestedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "recovery_requests");
        }
    }
}
