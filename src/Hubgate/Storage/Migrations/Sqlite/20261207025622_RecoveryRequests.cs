using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
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
                    DeliveryGuid = table.Column<string>(type: "TEXT", nullable: false),
                    Event = table.Column<string>(type: "TEXT", nullable: false),
                    Action = table.Column<string>(type: "TEXT", nullable: true),
                    HookDeliveryId = table.Column<long>(type: "INTEGER", nullable: false),
                    FirstRequestedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LastRequestedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    Requests = table.Column<int>(type: "INTEGER", nullable: false),
                    Outcome = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    StatusCode = table.Column<int>(type: "INTEGER", nullable: true),
                    Error = table.Column<string>(type: "TEXT", nullable: true)
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
